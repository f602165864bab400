"""Protein sequences: the alphabet, one validation rule, and the two target file readers.

Every sequence that enters drugforge goes through :func:`normalize_sequence`: whitespace (also
inside, as in pasted FASTA) is removed, letters are uppercased and one trailing ``*`` (a stop
codon) is dropped. Anything else outside :data:`ALPHABET` is an error that names the first bad
character and its 1-based residue position; nothing is silently replaced or skipped.

Policy per layer (as for SMILES): parsing raises :class:`InvalidSequenceError`;
:func:`check_sequence` returns the error text instead, for row-wise jobs that keep bad rows and
mark them; the file readers raise one :class:`~drugforge.core.errors.InputError` line that names
the file and the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

from drugforge.core.errors import InputError

__all__ = [
    "ALPHABET",
    "STANDARD_AMINO_ACIDS",
    "InvalidSequenceError",
    "check_sequence",
    "normalize_sequence",
    "read_fasta",
    "read_targets",
]

#: the 20 standard amino acids, alphabetical by one-letter code
STANDARD_AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: every accepted letter; the order is fixed (residue codes and saved models depend on it):
#: the 20 standard residues, then X (unknown), U (selenocysteine), B (D or N), Z (E or Q)
ALPHABET = STANDARD_AMINO_ACIDS + "XUBZ"

_ALLOWED = frozenset(ALPHABET + ALPHABET.lower())
_ALLOWED_TEXT = f"{STANDARD_AMINO_ACIDS} plus X, U, B, Z"
# str.translate deletes every allowed letter: an empty result means the sequence is valid, the
# common case, checked in C instead of a Python loop over residues
_DELETE_ALLOWED = str.maketrans("", "", ALPHABET + ALPHABET.lower())

_ID_COLUMN = "target_id"
_SEQUENCE_COLUMN = "target_sequence"

PathLikeStr = str | PathLike[str]


class InvalidSequenceError(InputError, ValueError):
    """A protein sequence is empty or holds a character outside :data:`ALPHABET`.

    ``residue`` and ``position`` (1-based, counted after whitespace is removed) name the first
    bad character; both are ``None`` for an empty or non-string sequence.
    """

    def __init__(
        self,
        message: str,
        *,
        residue: str | None = None,
        position: int | None = None,
        path: PathLikeStr | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, path=path, line=line)
        self.residue = residue
        self.position = position


def normalize_sequence(seq: str) -> str:
    """Return ``seq`` without whitespace, uppercased, without one trailing ``*`` stop.

    Raises
    ------
    InvalidSequenceError
        If ``seq`` is not a string, is empty, or holds any other character; the message is one
        line, e.g. ``invalid residue 'J' at position 17; allowed: ACDEFGHIKLMNPQRSTVWY plus X,
        U, B, Z``.
    """
    if not isinstance(seq, str):
        raise InvalidSequenceError(f"expected a protein sequence string, got {type(seq).__name__}")
    text = "".join(seq.split())
    text = text.removesuffix("*")
    if not text:
        raise InvalidSequenceError("empty protein sequence")
    if text.translate(_DELETE_ALLOWED):
        # validated before upper(): 'ß'.upper() == 'SS' would otherwise slip through
        for position, char in enumerate(text, start=1):
            if char not in _ALLOWED:
                raise InvalidSequenceError(
                    f"invalid residue {char!r} at position {position}; allowed: {_ALLOWED_TEXT}",
                    residue=char,
                    position=position,
                )
    return text.upper()


def check_sequence(seq: object) -> str | None:
    """``None`` if ``seq`` is a valid sequence, else the one-line error text (never raises)."""
    try:
        normalize_sequence(seq)  # type: ignore[arg-type]  # non-strings are reported, not raised
    except InvalidSequenceError as err:
        return err.message
    return None


def read_targets(path: PathLikeStr) -> dict[str, str]:
    """Read a ``target_id,target_sequence`` CSV into ``{target_id: normalized sequence}``.

    The file is UTF-8 (a byte-order mark is accepted); other columns are ignored; blank lines
    are skipped. A target listed twice with the same sequence is kept once.

    Raises
    ------
    InputError
        One line naming the file and the 1-based line: not UTF-8, empty, a missing column, an
        empty id, a target listed twice with different sequences, or an invalid sequence
        (:class:`InvalidSequenceError`).
    """
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)  # leading blank lines
    if header is None:
        raise InputError(
            "empty file; expected a CSV with columns target_id,target_sequence", path=path, line=1
        )
    names = [cell.strip() for cell in header]
    missing = [col for col in (_ID_COLUMN, _SEQUENCE_COLUMN) if col not in names]
    if missing:
        raise InputError(
            f"missing column {', '.join(missing)}; found: {', '.join(names) or '(none)'}",
            path=path,
            line=reader.line_num,
        )
    header_line = reader.line_num
    id_col, seq_col = names.index(_ID_COLUMN), names.index(_SEQUENCE_COLUMN)
    targets: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for row in _rows(reader, path):
        line = reader.line_num  # the record's last physical line: its line unless quoted newlines
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(names) - len(row))
        target_id = cells[id_col].strip()
        if not target_id:
            raise InputError(f"empty {_ID_COLUMN}", path=path, line=line)
        sequence = _validated(cells[seq_col], f"target {target_id!r}", path, line)
        _add(targets, first_line, target_id, sequence, path, line)
    if not targets:
        raise InputError("no targets below the header", path=path, line=header_line)
    return targets


def read_fasta(path: PathLikeStr) -> dict[str, str]:
    """Read a FASTA file into ``{id: normalized sequence}``; the id is the header's first word.

    Raises
    ------
    InputError
        As :func:`read_targets`; a bad residue names the line that holds it.
    """
    targets: dict[str, str] = {}
    first_line: dict[str, int] = {}
    header: tuple[str, int] | None = None  # (id, line number)
    chunks: list[tuple[int, str]] = []  # (line number, sequence text) of the current record

    def flush() -> None:
        if header is None:
            return
        record_id, header_line = header
        if not chunks:
            raise InputError(f"record {record_id!r} has no sequence", path=path, line=header_line)
        sequence = _validated_fasta(record_id, chunks, path)
        _add(targets, first_line, record_id, sequence, path, header_line)

    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        text = raw.strip()
        if text.startswith(">"):
            flush()
            words = text[1:].split()
            if not words:
                raise InputError("FASTA header without an id", path=path, line=number)
            header, chunks = (words[0], number), []
        elif text.startswith(";"):
            continue  # old-style FASTA comment line
        elif text:
            if header is None:
                raise InputError("sequence before the first '>' header", path=path, line=number)
            chunks.append((number, text))
    flush()
    if not targets:
        raise InputError(
            "empty file; expected FASTA records ('>id' then the sequence)", path=path, line=1
        )
    return targets


# ---------------------------------------------------------------------------------- helpers
def _read_text(path: PathLikeStr) -> str:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path=path) from None
    try:
        return data.decode("utf-8-sig")  # also plain UTF-8: the BOM is optional
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{data[err.start]:02x}); re-save the file as UTF-8",
            path=path,
            line=line,
        ) from None


def _rows(reader: Iterator[list[str]], path: PathLikeStr) -> Iterator[list[str]]:
    """The reader's rows, with a malformed CSV record reported as an InputError line."""
    try:
        yield from reader
    except csv.Error as err:
        line = getattr(reader, "line_num", None)
        raise InputError(f"malformed CSV: {err}", path=path, line=line) from None


def _validated(seq: str, what: str, path: PathLikeStr, line: int) -> str:
    try:
        return normalize_sequence(seq)
    except InvalidSequenceError as err:
        raise InvalidSequenceError(
            f"{what}: {err.message}",
            residue=err.residue,
            position=err.position,
            path=path,
            line=line,
        ) from None


def _validated_fasta(record_id: str, chunks: list[tuple[int, str]], path: PathLikeStr) -> str:
    sequence = "".join(text for _, text in chunks)
    try:
        return normalize_sequence(sequence)
    except InvalidSequenceError as err:
        # point at the line holding the bad residue, not just the record's header
        line, seen = chunks[-1][0], 0
        for number, text in chunks:
            seen += len("".join(text.split()))
            if err.position is not None and err.position <= seen:
                line = number
                break
        raise InvalidSequenceError(
            f"record {record_id!r}: {err.message}",
            residue=err.residue,
            position=err.position,
            path=path,
            line=line,
        ) from None


def _add(
    targets: dict[str, str],
    first_line: dict[str, int],
    target_id: str,
    sequence: str,
    path: PathLikeStr,
    line: int,
) -> None:
    old = targets.get(target_id)
    if old is not None and old != sequence:
        raise InputError(
            f"target {target_id!r} listed again with a different sequence "
            f"(first at line {first_line[target_id]})",
            path=path,
            line=line,
        )
    if old is None:
        targets[target_id] = sequence
        first_line[target_id] = line
