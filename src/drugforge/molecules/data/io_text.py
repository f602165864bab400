"""Low-level readers for text tables (CSV/TSV/SMI): bytes -> text -> raw string columns.

Everything here keeps the 1-based physical line number of every data row so that later errors can
point at ``file.csv:17``. Values stay strings; typing happens in :mod:`drugforge.molecules.data.io`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from drugforge.core.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: header names that mark the SMILES column of a .smi file (and of any table, see io.py)
SMILES_NAMES = (
    "smiles",
    "canonical_smiles",
    "isomeric_smiles",
    "smiles_string",
    "smi",
    "mol",
    "molecule",
    "structure",
)


@dataclass
class RawTable:
    """Columns of strings as read from a file, with the line (or record) of each row."""

    columns: dict[str, list[str]]  # name -> values, insertion order = file order
    lines: list[int]

    @property
    def n_rows(self) -> int:
        return len(self.lines)


def gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress gzip bytes; a damaged archive becomes a one-line InputError."""
    if not raw.startswith(GZIP_MAGIC):
        raise InputError(
            "not a gzip file (the name ends in .gz but the content is not gzip)", path=path
        )
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"truncated or corrupt gzip file ({err})", path=path) from None


def decode_text(raw: bytes, path: Path, encoding: str | None = None) -> str:
    """Bytes -> text: UTF-8 (a BOM is dropped), UTF-16 when it has a BOM, else ``encoding``.

    Invalid UTF-8 is an error naming the line of the first bad byte rather than a silent latin-1
    guess, because a wrong guess corrupts names and SMILES without any message.
    """
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except LookupError:
            raise InputError(f"unknown text encoding '{encoding}'", path=path) from None
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            raise InputError(
                f"cannot decode the file as {encoding} ({err.reason})", path=path, line=line
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("invalid UTF-16 text", path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        byte = raw[err.start]
        raise InputError(
            f"not valid UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8 "
            "or pass --encoding latin-1 (encoding='latin-1' in Python)",
            path=path,
            line=line,
        ) from None
    if "\x00" in text[:8192]:
        raise InputError("file looks binary, not text; check its type and extension", path=path)
    return text


def _unique_header(names: list[str]) -> list[str]:
    """Blank names -> 'Unnamed: i'; repeats -> 'name.1', 'name.2' (as pandas does)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = raw.strip() or f"Unnamed: {i}"
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen.add(name)
        out.append(name)
    return out


def first_content_line(text: str) -> str:
    for line in io.StringIO(text, newline=""):
        if line.strip():
            return line
    return ""


def choose_delimiter(text: str, default: str) -> str:
    """The delimiter of a delimited file; falls back to tab/semicolon when the header lacks ``default``."""
    header = first_content_line(text)
    if default in header:
        return default
    for candidate in ("\t", ",", ";", "|"):
        if candidate in header:
            return candidate
    return default


def sniff_txt(text: str) -> str | None:
    """Delimiter of a .txt table, or None when it looks like a SMILES list (.smi layout)."""
    header = first_content_line(text)
    if not any(c in header for c in ",\t;|"):
        return None
    sample = "".join(line for _, line in zip(range(20), io.StringIO(text, newline="")))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {c: header.count(c) for c in ",\t;|"}
        return max(counts, key=lambda c: counts[c])


def parse_delimited(text: str, delimiter: str, path: Path) -> tuple[list[str], RawTable]:
    """Parse CSV-like text; the first non-blank line is the header. Ragged rows are errors.

    In a one-column table a blank line between data rows is a row with an empty value (kept,
    so a row-wise job marks it instead of losing it); blank lines before the header and after
    the last data row are layout and skipped. Wider tables skip blank lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    pending: list[int] = []  # blank lines of a one-column table, kept once a row follows
    width = 0
    previous = 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                if header is not None and width == 1:
                    pending.append(start)
                continue  # blank line
            for blank in pending:
                rows.append([""])
                lines.append(blank)
            pending = []
            if header is None:
                header = _unique_header(row)
                width = len(header)
                continue
            if len(row) != width:
                raise InputError(
                    f"expected {width} fields like the header, found {len(row)} "
                    f"(delimiter {delimiter!r}); check quoting and stray delimiters",
                    path=path,
                    line=start,
                )
            rows.append(row)
            lines.append(start)
    except csv.Error as err:
        raise InputError(
            f"malformed delimited text: {err}", path=path, line=reader.line_num
        ) from None
    if header is None:
        raise InputError("file is empty (no data rows)", path=path)
    columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in header]
    return header, RawTable(dict(zip(header, columns)), lines)


def parse_smi(text: str, path: Path) -> tuple[list[str], RawTable]:
    """Parse a SMILES list: ``SMILES [name]`` per line, optional header, ``#`` comments skipped.

    A first line whose first token is a SMILES column name (``smiles``, ``SMILES``...) is a header;
    with more than two header fields every line is split into that many fields (tab-separated
    lines are split on tabs only, so names may contain spaces).
    """
    header: list[str] | None = None
    width = 2
    rows: list[list[str]] = []
    lines: list[int] = []
    first = True
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if first:
            first = False
            tokens = stripped.split("\t") if "\t" in stripped else stripped.split()
            if tokens[0].strip().lower() in SMILES_NAMES:
                header = [t.strip() for t in tokens]
                if len(header) == 1:
                    header.append("name")
                width = len(header)
                continue
        parts = (
            stripped.split("\t", width - 1) if "\t" in stripped else stripped.split(None, width - 1)
        )
        parts = [p.strip() for p in parts]
        parts.extend([""] * (width - len(parts)))
        rows.append(parts)
        lines.append(number)
    if header is None:
        if first:
            raise InputError("file is empty (no data rows)", path=path)
        has_names = any(r[1] for r in rows)
        header = ["smiles", "name"] if has_names else ["smiles"]
    header = _unique_header(header)
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    return header, RawTable(columns, lines)
