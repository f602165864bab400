"""Read molecule tables (CSV, TSV, TXT, SMI, SDF, Parquet; optionally gzipped) and write results.

Column rules, applied only when the caller does not name the columns:

* SMILES column: the first column whose name (case-insensitive) is one of ``smiles``,
  ``canonical_smiles``, ``isomeric_smiles``, ``smiles_string``, ``smi``, ``mol``, ``molecule``,
  ``structure``; else the first column whose name contains "smiles"; else the first text column
  where more than half of the first 50 non-empty values parse with RDKit.
* Target columns: every numeric column (and every text column whose values are mostly
  numbers, so that a typo is later reported with its line instead of the column vanishing),
  except the SMILES and id columns, id-like names (``id``, ``*_id``, ``index``,
  ``unnamed: 0``...), split/fold markers (``split``, ``fold``, ``set``), MoleculeACE's
  ``cliff_mol`` and raw ``exp_mean [nM]``. Pass the target names when a file carries
  descriptor columns too.
* Id column: the first of ``id``, ``name``, ``compound_id``, ``mol_id``, ``molecule_id``,
  ``chembl_id``, ``cmpd_chemblid``, ``cid``, ``title`` (case-insensitive), if present.

Missing values: empty cells and ``NA``, ``N/A``, ``NaN``, ``null``, ``None`` (any case) are
missing; in the SMILES column they become ``''`` (reported as "empty SMILES" downstream).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from drugforge.core.errors import InputError
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.data.io_sdf import parse_sdf
from drugforge.molecules.data.io_text import (
    GZIP_MAGIC,
    SMILES_NAMES,
    RawTable,
    choose_delimiter,
    decode_text,
    gunzip,
    parse_delimited,
    parse_smi,
    sniff_txt,
)

__all__ = ["MolTable", "detect_format", "read_molecules", "write_table"]

Format = Literal["csv", "tsv", "txt", "smi", "sdf", "parquet"]
LineKind = Literal["line", "record", "row"]

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "txt",
    ".smi": "smi",
    ".smiles": "smi",
    ".ism": "smi",
    ".sdf": "sdf",
    ".sd": "sdf",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_UNSUPPORTED = "use CSV, TSV, SMI, SDF or Parquet (optionally .gz)"
_NA_TOKENS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "#n/a", "<na>"})
_ID_NAMES = (
    "id",
    "name",
    "compound_id",
    "mol_id",
    "molecule_id",
    "chembl_id",
    "molecule_chembl_id",
    "cmpd_chemblid",
    "cid",
    "title",
)
_NON_TARGET_NAMES = frozenset(
    {
        "split",
        "fold",
        "folds",
        "set",
        "subset",
        "cliff_mol",
        "exp_mean [nm]",
        "index",
        "idx",
        "row",
        "row_id",
        "line",
        "line_number",
        "num",
        "no",
        "number",
    }
)
_ID_LIKE = re.compile(r"(^|[_\s.\-])id$|^unnamed(: ?\d+)?$", re.IGNORECASE)


@dataclass
class MolTable:
    """A table of molecules as read from a file.

    Attributes
    ----------
    frame : every input column in input order; the SMILES column is text ('' when missing).
    smiles_column : name of the SMILES column.
    target_columns : label columns (may be empty, e.g. for prediction input).
    line_numbers : 1-based position of each row in the file: physical line for text files
        (the header is line 1 of a CSV), record index for SDF, row index for Parquet.
    path : where the table came from (used in error messages).
    id_column : an identifier column when one was named or found.
    line_kind : what ``line_numbers`` count: ``'line'``, ``'record'`` or ``'row'``.
    """

    frame: pd.DataFrame
    smiles_column: str
    target_columns: list[str]
    line_numbers: np.ndarray
    path: str
    id_column: str | None = None
    line_kind: LineKind = "line"
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.line_numbers = np.asarray(self.line_numbers, dtype=np.int64)
        if len(self.line_numbers) != len(self.frame):
            raise ValueError(
                f"line_numbers has {len(self.line_numbers)} entries for {len(self.frame)} rows"
            )
        if self.smiles_column not in self.frame.columns:
            raise ValueError(f"SMILES column '{self.smiles_column}' is not in the frame")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def smiles(self) -> list[str]:
        """The raw SMILES of every row ('' when missing)."""
        return [v if isinstance(v, str) else "" for v in self.frame[self.smiles_column].tolist()]

    def location(self, row: int) -> str:
        """``'path:17'`` for row ``row`` (a position in ``frame``)."""
        return f"{self.path}:{int(self.line_numbers[row])}"


def detect_format(path: str | PathLike[str]) -> tuple[Format, bool]:
    """``(format, gzipped)`` from the file name (case-insensitive); unsupported names raise."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] in (".gz", ".gzip")
    if gzipped:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    fmt = _EXTENSIONS.get(ext)
    if fmt is None:
        shown = ext or (".gz" if gzipped else "(none)")
        raise InputError(f"unsupported file type '{shown}'; {_UNSUPPORTED}", path=p)
    return fmt, gzipped


def read_molecules(
    path: str | PathLike[str],
    smiles_column: str | None = None,
    target_columns: Sequence[str] | str | None = None,
    *,
    id_column: str | None = None,
    encoding: str | None = None,
) -> MolTable:
    """Read a molecule table.

    Parameters
    ----------
    path : a .csv, .tsv/.tab, .txt, .smi, .sdf/.sd or .parquet/.pq file, optionally ``.gz``.
    smiles_column : the SMILES column; found automatically when None (see module docstring).
    target_columns : label columns; ``None`` detects numeric columns, ``[]`` means no targets.
    id_column : an identifier column; found by name when None.
    encoding : text encoding; by default UTF-8 (with or without BOM) or BOM-marked UTF-16.

    Raises
    ------
    InputError : missing/empty/undecodable file, unsupported type, ragged rows, unknown columns.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    if p.is_dir():
        raise InputError("is a directory, not a data file", path=p)
    fmt, gzipped = detect_format(p)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read the file ({err.strerror or err})", path=p) from None
    if gzipped or raw.startswith(GZIP_MAGIC):
        raw = gunzip(raw, p)
    if not raw or raw.isspace():
        raise InputError("file is empty (no data rows)", path=p)

    line_kind: LineKind = "line"
    if fmt == "parquet":
        frame = _read_parquet(raw, p)
        lines = np.arange(1, len(frame) + 1, dtype=np.int64)
        line_kind = "row"
        if len(frame) == 0:
            raise InputError("no data rows", path=p)
        smiles_col = _resolve_smiles_column(frame, smiles_column, p)
        frame[smiles_col] = [_smiles_text(v) for v in frame[smiles_col].tolist()]
    else:
        if fmt == "sdf":
            header, table = parse_sdf(raw, p)
            line_kind = "record"
        else:
            text = decode_text(raw, p, encoding)
            if fmt == "smi":
                header, table = parse_smi(text, p)
            elif fmt == "txt":
                delimiter = sniff_txt(text)
                header, table = (
                    parse_smi(text, p) if delimiter is None else parse_delimited(text, delimiter, p)
                )
            else:
                default = "\t" if fmt == "tsv" else ","
                header, table = parse_delimited(text, choose_delimiter(text, default), p)
        if table.n_rows == 0:
            raise InputError("no data rows (only a header)", path=p)
        frame, smiles_col = _typed_frame(header, table, smiles_column, p)
        lines = np.asarray(table.lines, dtype=np.int64)

    id_col = _resolve_id_column(frame, id_column, smiles_col, p)
    targets = _resolve_targets(frame, target_columns, smiles_col, id_col, p)
    return MolTable(
        frame=frame,
        smiles_column=smiles_col,
        target_columns=targets,
        line_numbers=lines,
        path=str(p),
        id_column=id_col,
        line_kind=line_kind,
    )


# ----------------------------------------------------------------------------- typing columns


def _smiles_text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return "" if value.lower() in _NA_TOKENS else value


def _convert_column(values: list[str]) -> pd.Series:
    """Strings -> int64/float64 when every non-missing value is a number, else text (NaN = missing)."""
    stripped = [v.strip() for v in values]
    missing = [len(v) <= 4 and v.lower() in _NA_TOKENS for v in stripped]  # NA tokens are short
    any_missing = any(missing)
    if not any_missing:
        try:
            return pd.Series(np.array(stripped, dtype=np.int64))
        except (ValueError, OverflowError):
            pass
    filled = [("nan" if m else v) for v, m in zip(stripped, missing)] if any_missing else stripped
    try:
        return pd.Series(np.array(filled, dtype=np.float64))
    except ValueError:
        pass
    text = [(np.nan if m else v) for v, m in zip(stripped, missing)]
    return pd.Series(text, dtype=object)


def _smiles_values(values: list[str]) -> list[str]:
    stripped = [v.strip() for v in values]
    return ["" if len(v) <= 4 and v.lower() in _NA_TOKENS else v for v in stripped]


def _typed_frame(
    header: list[str], table: RawTable, smiles_column: str | None, path: Path
) -> tuple[pd.DataFrame, str]:
    # only the first rows are needed to choose the SMILES column
    head = pd.DataFrame({name: table.columns[name][:200] for name in header}, dtype=object)
    smiles_col = _resolve_smiles_column(head, smiles_column, path)
    data: dict[str, pd.Series | list[str]] = {}
    for name in header:
        values = table.columns[name]
        data[name] = _smiles_values(values) if name == smiles_col else _convert_column(values)
    return pd.DataFrame(data, columns=header), smiles_col


# ----------------------------------------------------------------------------- column choice


def _match_column(frame: pd.DataFrame, name: str, role: str, path: Path) -> str:
    columns = [str(c) for c in frame.columns]
    if name in columns:
        return name
    folded = [c for c in columns if c.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise InputError(
        f"{role} column '{name}' not found; available columns: {', '.join(columns)}", path=path
    )


def _looks_like_smiles_column(values: Sequence[object]) -> bool:
    sample = [v.strip() for v in values if isinstance(v, str) and v.strip()][:50]
    if not sample:
        return False
    # plain numbers parse as nothing useful but short words like "C" or "CO" do parse: require
    # a majority of parsable values and at least one that is not a bare number
    parsed = sum(parse_smiles(v) is not None for v in sample)
    return parsed * 2 > len(sample) and any(not _is_number(v) for v in sample)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _resolve_smiles_column(frame: pd.DataFrame, smiles_column: str | None, path: Path) -> str:
    if smiles_column is not None:
        return _match_column(frame, smiles_column, "SMILES", path)
    columns = [str(c) for c in frame.columns]
    lowered = {c.lower(): c for c in reversed(columns)}  # first occurrence wins
    for name in SMILES_NAMES:
        if name in lowered:
            return lowered[name]
    for col in columns:
        if "smiles" in col.lower():
            return col
    for col in columns:
        series = frame[col]
        if _is_text(series) and _looks_like_smiles_column(series.head(200).tolist()):
            return col
    raise InputError(
        f"no SMILES column found (columns: {', '.join(columns)}); name it with --smiles-column",
        path=path,
    )


def _resolve_id_column(
    frame: pd.DataFrame, id_column: str | None, smiles_col: str, path: Path
) -> str | None:
    if id_column is not None:
        return _match_column(frame, id_column, "id", path)
    lowered = {str(c).lower(): str(c) for c in reversed(list(frame.columns))}
    for name in _ID_NAMES:
        col = lowered.get(name)
        if col is not None and col != smiles_col:
            return col
    return None


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def _mostly_numeric(series: pd.Series) -> bool:
    """A text column whose values are mostly numbers: a target with a typo, reported later."""
    if not _is_text(series):
        return False
    present = series.head(1000).dropna()
    if present.empty:
        return False
    numeric = pd.to_numeric(present.astype(str), errors="coerce").notna().sum()
    return bool(numeric * 2 > len(present))


def _resolve_targets(
    frame: pd.DataFrame,
    target_columns: Sequence[str] | str | None,
    smiles_col: str,
    id_col: str | None,
    path: Path,
) -> list[str]:
    if target_columns is not None:
        names = [target_columns] if isinstance(target_columns, str) else list(target_columns)
        out: list[str] = []
        for name in names:
            col = _match_column(frame, name, "target", path)
            if col == smiles_col:
                raise InputError(f"target column '{col}' is the SMILES column", path=path)
            if col in out:
                raise InputError(f"target column '{col}' is listed twice", path=path)
            out.append(col)
        return out
    detected: list[str] = []
    for col in map(str, frame.columns):
        series = frame[col]
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        if col in (smiles_col, id_col) or not (numeric or _mostly_numeric(series)):
            continue
        if col.strip().lower() in _NON_TARGET_NAMES or _ID_LIKE.search(col.strip()):
            continue
        detected.append(col)
    return detected


# ----------------------------------------------------------------------------- parquet


def _read_parquet(raw: bytes, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(raw))
    except Exception as err:  # noqa: BLE001 - pyarrow raises ArrowInvalid/OSError/... for bad files
        message = " ".join(str(err).split())[:200]
        raise InputError(f"not a readable Parquet file ({message})", path=path) from None
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return frame


# ----------------------------------------------------------------------------- writing


def _output_format(path: Path) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    kinds = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
    if ext not in kinds:
        raise InputError(
            f"unsupported output type '{ext or '(none)'}'; use .csv, .tsv or .parquet (optionally .gz)",
            path=path,
        )
    return kinds[ext], gzipped


def write_table(frame: pd.DataFrame, path: str | PathLike[str], force: bool = False) -> Path:
    """Write ``frame`` as CSV/TSV/Parquet (by extension, ``.gz`` compresses), atomically.

    The file is written to a temporary name in the same folder and renamed into place, so a
    crash never leaves a half-written output. An existing file is kept unless ``force``.
    """
    p = Path(path)
    kind, gzipped = _output_format(p)
    if p.exists() and not force:
        raise InputError("output file exists; use --force to overwrite", path=p)
    if p.is_dir():
        raise InputError("output path is a directory", path=p)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            zipped = gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) if gzipped else None
            sink: Any = zipped if zipped is not None else handle
            if kind == "parquet":
                try:
                    frame.to_parquet(sink, index=False)
                except Exception as err:  # noqa: BLE001 - pyarrow type errors on mixed columns
                    raise InputError(f"cannot write Parquet: {err}", path=p) from None
            else:
                text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
                frame.to_csv(
                    text, sep="\t" if kind == "tsv" else ",", index=False, lineterminator="\n"
                )
                text.flush()
                text.detach()
            if zipped is not None:
                zipped.close()
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, p)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return p


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
