"""Read a compound library of any size in fixed-size chunks, in bounded memory.

:func:`~drugforge.molecules.data.io.read_molecules` loads a whole table for training; a screening library
(millions of rows) is streamed instead. :class:`LibraryReader` yields :class:`LibraryChunk` s of
``chunk_size`` data records, always the same chunks for the same file and chunk size (so a job
can resume after chunk ``k``), from

* SMILES lists (``.smi``, ``.smiles``, ``.ism``, ``.txt``): ``SMILES [name]`` per line,
* delimited tables (``.csv``, ``.tsv``, ``.tab``, ``.txt`` with a delimiter),
* SD files (``.sdf``, ``.sd``): one record per ``$$$$`` block, the structure parsed later,
* Parquet (``.parquet``, ``.pq``), read one row group batch at a time,

the text formats optionally gzipped (``.gz``, or any file that starts with the gzip magic).

Nothing is dropped: a line the reader cannot use (a wrong number of fields, bytes that are not
valid text in the file's encoding, an over-long line, the last line of a truncated gzip stream)
still becomes a record, with its ``error`` set, so that the screen reports it. Blank lines and
``#`` comment lines are not records; they are counted in :attr:`LibraryReader.blank_lines`.
A gzip stream that ends early or is corrupt stops the reading after the last complete line;
:attr:`LibraryReader.problem` says where, and the caller decides how to exit.
"""

from __future__ import annotations

import codecs
import csv
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import pandas as pd

from drugforge.core.errors import InputError
from drugforge.molecules.data.io import (
    Format,
    LineKind,
    _resolve_id_column,
    _resolve_smiles_column,
    _smiles_text,
    detect_format,
)
from drugforge.molecules.data.io_text import GZIP_MAGIC, SMILES_NAMES, _unique_header, sniff_txt

__all__ = ["LibraryChunk", "LibraryReader", "RecordKind"]

RecordKind = Literal["smiles", "molblock"]

#: bytes read from the file at a time
_BLOCK = 1 << 20
#: a longer line (or SD record) is reported as one bad record and skipped, not held in memory
MAX_RECORD_BYTES = 1 << 20
#: how many data lines are looked at to find the SMILES and id columns of a table
_SAMPLE_LINES = 200


@dataclass
class LibraryChunk:
    """``len(self)`` consecutive records of a library, column by column."""

    index: int  # 0-based chunk number
    start: int  # 0-based record number of the first record (the record's ``row``)
    lines: list[int] = field(default_factory=list)  # 1-based line / SD record / Parquet row
    texts: list[str] = field(default_factory=list)  # SMILES, or an SD record's mol block
    ids: list[str] = field(default_factory=list)  # the id column ('' when none)
    errors: list[str] = field(default_factory=list)  # what the reader found wrong ('' = fine)
    kind: RecordKind = "smiles"

    def __len__(self) -> int:
        return len(self.texts)

    def append(self, line: int, text: str, ident: str = "", error: str = "") -> None:
        self.lines.append(line)
        self.texts.append(text)
        self.ids.append(ident)
        self.errors.append(error)


# ----------------------------------------------------------------------------- raw bytes
class _Lines:
    """Physical lines of a (gzipped) file as bytes, without the line ending.

    Yields ``(number, line, problem)``; ``problem`` is '' or why the line is unusable (too long,
    cut off by the end of a truncated gzip stream). Gzip members are decompressed with zlib
    directly so that a truncated stream still gives every complete line before the cut and the
    cut is detected exactly (``self.problem``).
    """

    def __init__(self, path: Path, gzipped: bool) -> None:
        self.path = path
        self.gzipped = gzipped
        self.consumed = 0  # bytes of the file read so far (compressed bytes for gzip)
        self.decoded = 0  # bytes those blocks decompress to (= consumed when not gzipped)
        self.emitted = 0  # decompressed bytes handed out as lines so far
        self.problem: str | None = None

    @property
    def position(self) -> int:
        """File bytes behind the lines handed out so far: exact for plain text, scaled from the
        decompressed position for gzip (the file is read in 1 MiB blocks, ahead of the lines)."""
        if self.decoded == 0:
            return 0
        return min(self.consumed, round(self.consumed * self.emitted / self.decoded))

    def _data(self) -> Iterator[bytes]:
        """Decompressed blocks; sets ``self.problem`` on a truncated or corrupt gzip stream."""
        with self.path.open("rb") as handle:
            inflater = zlib.decompressobj(31) if self.gzipped else None
            in_member = False
            while True:
                raw = handle.read(_BLOCK)
                if not raw:
                    break
                self.consumed += len(raw)
                if inflater is None:
                    yield raw
                    continue
                out: list[bytes] = []
                try:
                    while raw:
                        if not in_member and not raw.strip(b"\0"):
                            raw = b""  # zero padding after the last member (tape-style writers)
                            break
                        in_member = True
                        out.append(inflater.decompress(raw))
                        if inflater.eof:  # end of one member; concatenated members may follow
                            raw = inflater.unused_data
                            inflater = zlib.decompressobj(31)
                            in_member = False
                        else:
                            raw = b""
                except zlib.error as err:
                    yield b"".join(out)
                    self.problem = f"corrupt gzip data ({err})"
                    return
                yield b"".join(out)
            if inflater is not None and in_member:
                tail = inflater.flush()
                if tail:
                    yield tail
                self.problem = "the gzip stream is truncated (the file ends mid-stream)"

    def __iter__(self) -> Iterator[tuple[int, bytes, str]]:
        pending = b""
        number = 0
        skipping = False  # inside an over-long line already reported
        for block in self._data():
            self.decoded += len(block)
            pending += block
            parts = pending.split(b"\n")
            pending = parts.pop()
            for part in parts:
                self.emitted += len(part) + 1
                if skipping:
                    skipping = False  # the rest of the over-long line ends here
                    continue
                number += 1
                yield number, part.rstrip(b"\r"), ""
            if len(pending) > MAX_RECORD_BYTES and not skipping:
                self.emitted += len(pending)
                number += 1
                yield number, b"", f"line longer than {MAX_RECORD_BYTES} bytes"
                skipping, pending = True, b""
            elif skipping:
                self.emitted += len(pending)
                pending = b""
        self.emitted = self.decoded
        if pending and not skipping:
            number += 1
            cut = "cut off by the end of the truncated file" if self.problem else ""
            yield number, pending.rstrip(b"\r"), cut


class _Decoder:
    """Per-line decoding: a line that is not valid text is a bad record, not a crash."""

    def __init__(self, encoding: str | None) -> None:
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise InputError(f"unknown text encoding '{encoding}'") from None
        self.encoding = encoding or "utf-8"
        self.first = True

    def __call__(self, line: bytes) -> tuple[str, str]:
        """``(text, problem)``."""
        if self.first:
            self.first = False
            line = line.removeprefix(codecs.BOM_UTF8)
        try:
            return line.decode(self.encoding), ""
        except UnicodeDecodeError as err:
            text = line.decode(self.encoding, errors="replace")
            return text, (
                f"not valid {self.encoding} text (byte {err.start + 1}); wrong encoding? "
                "name it with --encoding"
            )


# -------------------------------------------------------------------------------- reader
class LibraryReader:
    """Stream a molecule library in chunks; see the module docstring for formats and policy.

    Parameters
    ----------
    path
        The library file.
    smiles_column, id_column
        For tables: the columns to read (found by name or content when None, as
        :func:`~drugforge.molecules.data.io.read_molecules` does). For SD files ``id_column`` names an SD
        property (default: the record's title line).
    chunk_size
        Records per chunk.
    encoding
        Text encoding (default UTF-8 with an optional BOM; UTF-16 files need their BOM).
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        smiles_column: str | None = None,
        id_column: str | None = None,
        chunk_size: int = 10_000,
        encoding: str | None = None,
    ) -> None:
        self.path = Path(path)
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if not self.path.exists():
            raise InputError("file not found", path=self.path)
        if self.path.is_dir():
            raise InputError("is a directory, not a data file", path=self.path)
        self.format: Format
        self.format, gzipped = detect_format(self.path)
        try:
            with self.path.open("rb") as handle:
                head = handle.read(4)
            self.bytes_total = self.path.stat().st_size
        except OSError as err:
            raise InputError(f"cannot read the file ({err.strerror or err})", path=self.path) from None
        self.gzipped = gzipped or head.startswith(GZIP_MAGIC)
        if self.bytes_total == 0:
            raise InputError("file is empty (no data rows)", path=self.path)
        self.chunk_size = chunk_size
        self.encoding = encoding
        self.line_kind: LineKind = {"sdf": "record", "parquet": "row"}.get(self.format, "line")  # type: ignore[assignment]
        self.blank_lines = 0
        self.problem: str | None = None
        self._lines: _Lines | None = None
        self._parquet_rows = 0
        # resolved at construction so that a wrong column fails before any work starts
        self._layout = self._resolve_layout(smiles_column, id_column)

    # ------------------------------------------------------------------ public
    @property
    def smiles_column(self) -> str:
        return self._layout.smiles

    @property
    def id_column(self) -> str | None:
        return self._layout.ident

    @property
    def bytes_read(self) -> int:
        """File bytes consumed so far (for a progress bar; Parquet: estimated from rows)."""
        if self.format == "parquet":
            total = max(self._layout.n_rows, 1)
            return int(self.bytes_total * min(self._parquet_rows / total, 1.0))
        return 0 if self._lines is None else self._lines.position

    def chunks(self) -> Iterator[LibraryChunk]:
        """Every record of the file, ``chunk_size`` at a time, in file order."""
        self.blank_lines, self.problem, self._parquet_rows = 0, None, 0
        if self.format == "parquet":
            source = self._parquet_records()
        elif self.format == "sdf":
            source = self._sdf_records()
        else:
            source = self._text_records()
        kind: RecordKind = "molblock" if self.format == "sdf" else "smiles"
        chunk = LibraryChunk(0, 0, kind=kind)
        count = 0
        for line, text, ident, error in source:
            chunk.append(line, text, ident, error)
            count += 1
            if len(chunk) == self.chunk_size:
                yield chunk
                chunk = LibraryChunk(chunk.index + 1, count, kind=kind)
        if self._lines is not None and self._lines.problem:
            where = f" after line {chunk.lines[-1] if chunk.lines else count}"
            self.problem = f"{self._lines.problem}{where}"
        if len(chunk):
            yield chunk

    # ------------------------------------------------------------------ layout
    @dataclass
    class _Layout:
        smiles: str
        ident: str | None
        header: list[str] = field(default_factory=list)  # delimited tables
        delimiter: str | None = None  # None: a SMILES list
        smi_header: bool = False  # a SMILES list whose first line names its columns
        n_rows: int = 0  # Parquet

    def _resolve_layout(self, smiles_column: str | None, id_column: str | None) -> _Layout:
        if self.format == "parquet":
            return self._parquet_layout(smiles_column, id_column)
        if self.format == "sdf":
            return self._Layout("smiles", id_column)
        sample: list[str] = []
        decode = _Decoder(self.encoding)
        for number, raw, _problem in _Lines(self.path, self.gzipped):
            if number == 1 and (
                raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in raw
            ):
                raise InputError(
                    "looks like UTF-16 text; convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)",
                    path=self.path,
                )
            text, _bad = decode(raw)
            if text.strip() and not text.lstrip().startswith("#"):
                sample.append(text)
            if len(sample) > _SAMPLE_LINES:
                break
        if not sample:
            raise InputError("file is empty (no data rows)", path=self.path)
        delimiter: str | None
        if self.format == "smi":
            delimiter = None
        elif self.format == "txt":
            delimiter = sniff_txt("\n".join(sample))
        else:
            default = "\t" if self.format == "tsv" else ","
            header_line = sample[0]
            delimiter = next(
                (c for c in (default, "\t", ",", ";", "|") if c in header_line), default
            )
        if delimiter is None:
            first = sample[0].strip()
            tokens = first.split("\t") if "\t" in first else first.split()
            if tokens[0].strip().lower() in SMILES_NAMES:
                ident = tokens[1].strip() if len(tokens) > 1 else None
                if id_column is not None and id_column != ident:
                    raise InputError(
                        f"id column '{id_column}' not found; available columns: "
                        f"{', '.join(t.strip() for t in tokens)}",
                        path=self.path,
                    )
                return self._Layout(tokens[0].strip(), ident, smi_header=True)
            return self._Layout("smiles", "name" if id_column is None else id_column)
        rows = list(csv.reader(sample, delimiter=delimiter))
        header = _unique_header([h.strip() for h in rows[0]])
        body = [r for r in rows[1:] if len(r) == len(header)]
        frame = pd.DataFrame(body, columns=header) if body else pd.DataFrame(columns=header)
        smiles = _resolve_smiles_column(frame, smiles_column, self.path)
        ident = _resolve_id_column(frame, id_column, smiles, self.path)
        return self._Layout(smiles, ident, header=header, delimiter=delimiter)

    def _parquet_layout(self, smiles_column: str | None, id_column: str | None) -> _Layout:
        import pyarrow.parquet as pq

        if self.gzipped:
            raise InputError("a gzipped Parquet file cannot be streamed; gunzip it", path=self.path)
        try:
            handle = pq.ParquetFile(self.path)
            first = next(handle.iter_batches(batch_size=_SAMPLE_LINES), None)
        except Exception as err:  # noqa: BLE001 - pyarrow raises several error types
            raise InputError(f"not a readable Parquet file ({err})", path=self.path) from None
        if first is None or handle.metadata.num_rows == 0:
            raise InputError("no data rows", path=self.path)
        frame = first.to_pandas()
        frame.columns = [str(c) for c in frame.columns]
        smiles = _resolve_smiles_column(frame, smiles_column, self.path)
        ident = _resolve_id_column(frame, id_column, smiles, self.path)
        return self._Layout(smiles, ident, n_rows=handle.metadata.num_rows)

    # ------------------------------------------------------------------ records
    def _text_records(self) -> Iterator[tuple[int, str, str, str]]:
        layout = self._layout
        self._lines = lines = _Lines(self.path, self.gzipped)
        decode = _Decoder(self.encoding)
        header_seen = False
        width = len(layout.header)
        col = layout.header.index(layout.smiles) if layout.delimiter is not None else 0
        id_col = (
            layout.header.index(layout.ident)
            if layout.delimiter is not None and layout.ident is not None
            else 1
        )
        for number, raw, problem in lines:
            text, bad = decode(raw)
            stripped = text.strip()
            if not problem and (not stripped or stripped.startswith("#")):
                self.blank_lines += 1
                continue
            if not header_seen and (layout.delimiter is not None or layout.smi_header):
                header_seen = True
                continue
            problem = problem or bad
            if problem:
                yield number, "", "", problem
                continue
            if layout.delimiter is None:
                parts = stripped.split("\t", 1) if "\t" in stripped else stripped.split(None, 1)
                ident = parts[1].strip() if len(parts) > 1 else ""
                yield number, parts[0].strip(), ident, ""
                continue
            try:
                fields = next(csv.reader([text], delimiter=layout.delimiter))
            except csv.Error as err:
                yield number, "", "", f"malformed line ({err})"
                continue
            if len(fields) != width:
                yield number, "", "", (
                    f"malformed line: {len(fields)} fields where the header has {width} "
                    f"(delimiter {layout.delimiter!r})"
                )
                continue
            ident = fields[id_col].strip() if layout.ident is not None else ""
            yield number, _smiles_text(fields[col]), ident, ""

    def _sdf_records(self) -> Iterator[tuple[int, str, str, str]]:
        self._lines = lines = _Lines(self.path, self.gzipped)
        wanted = self._layout.ident
        block: list[str] = []
        size = 0
        record = 0
        bad = ""
        too_long = False
        for _number, raw, problem in lines:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")  # old tools; structure lines are ASCII anyway
            if text.strip() == "$$$$":
                record += 1
                if too_long:
                    yield record, "", "", f"SD record longer than {MAX_RECORD_BYTES} bytes"
                elif bad:
                    yield record, "", "", bad
                else:
                    yield record, "\n".join(block), _sd_ident(block, wanted), ""
                block, size, bad, too_long = [], 0, "", False
                continue
            if problem:
                bad = problem
            size += len(raw) + 1
            if size > MAX_RECORD_BYTES:
                too_long, block = True, []
            elif not too_long:
                block.append(text)
        if any(line.strip() for line in block) or too_long:
            record += 1
            cut = "cut off by the end of the truncated file" if lines.problem else ""
            yield record, "", "", (cut or "last SD record has no '$$$$' terminator")

    def _parquet_records(self) -> Iterator[tuple[int, str, str, str]]:
        import pyarrow.parquet as pq

        layout = self._layout
        columns = [layout.smiles] + ([layout.ident] if layout.ident else [])
        handle = pq.ParquetFile(self.path)
        row = 0
        for batch in handle.iter_batches(batch_size=self.chunk_size, columns=columns):
            smiles = batch.column(0).to_pylist()
            ids = batch.column(1).to_pylist() if layout.ident else [None] * len(smiles)
            for value, ident in zip(smiles, ids, strict=True):
                row += 1
                yield row, _smiles_text(value), "" if ident is None else str(ident), ""
            self._parquet_rows = row


def _sd_ident(block: list[str], wanted: str | None) -> str:
    """The record's title line, or the value of SD property ``wanted``."""
    if wanted is None:
        return block[0].strip() if block else ""
    tag = f"<{wanted}>"
    for i, line in enumerate(block):
        if line.startswith(">") and tag in line and i + 1 < len(block):
            return block[i + 1].strip()
    return ""
