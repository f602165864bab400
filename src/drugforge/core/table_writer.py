"""Stream tables frame by frame into one CSV/TSV/Parquet file that appears only when complete.

A merge of many parts into an output writes each part as it is read (memory bounded by a part,
not by the output); the file is written under ``NAME.tmp`` and renamed on ``close``, so a kill
during the merge never leaves a truncated output under the real name.
"""

from __future__ import annotations

import gzip
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["TableWriter"]


class TableWriter:
    """Writes frames one after another to a temporary file; ``close`` renames it into place.

    The format follows the name: ``.parquet``, ``.tsv`` (tab) or else comma-separated, gzipped
    when it ends in ``.gz``. ``text_columns`` are typed as text in an empty Parquet output (the
    others as numbers), since an empty frame carries no types to infer.
    """

    def __init__(self, path: Path, columns: list[str], text_columns: Collection[str] = ()) -> None:
        self.path = path
        self.columns = columns
        self.text_columns = frozenset(text_columns)
        self.tmp = path.with_name(path.name + ".tmp")
        lowered = path.name.lower()
        self.parquet = lowered.endswith(".parquet")
        self.sep = "\t" if ".tsv" in lowered else ","
        self.compression = "gzip" if lowered.endswith(".gz") else None
        self._parquet: pq.ParquetWriter | None = None
        self._text: Any = None
        self.started = False

    def write(self, frame: pd.DataFrame) -> None:
        frame = frame[self.columns]
        if self.parquet:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
            return
        if self._text is None:
            self._text = (gzip.open(self.tmp, "wt", newline="") if self.compression  # noqa: SIM115 - closed in close()/abort()
                          else self.tmp.open("w", newline=""))  # fmt: skip
        frame.to_csv(self._text, sep=self.sep, index=False, header=not self.started)
        self.started = True

    def close(self) -> None:
        if self.parquet and self._parquet is None:
            self.write(pd.DataFrame({c: pd.Series(dtype=float if c not in self.text_columns
                                                  else object) for c in self.columns}))  # fmt: skip
        if not self.parquet and self._text is None:
            self.write(pd.DataFrame(columns=self.columns))
        if self._parquet is not None:
            self._parquet.close()
        if self._text is not None:
            self._text.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._text is not None:
            self._text.close()
        self.tmp.unlink(missing_ok=True)
