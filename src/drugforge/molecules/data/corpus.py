"""SMILES corpora for language-model pretraining: locate MOSES, stream big files, build the
vocabulary.

Corpus files are ``.smi``/``.txt`` (SMILES first on each line) or ``.csv``/``.tsv`` with a SMILES
column, each optionally gzipped, such as MOSES' ``train.csv.gz`` (1.58 M molecules). They are read
record by record, never whole, so their size does not matter.

:class:`SmilesStream` yields training SMILES endlessly (pass after pass) through a seeded
shuffle buffer, optionally as randomized SMILES (augmentation). A molecule that is empty,
invalid (RDKit), has a token outside the vocabulary or is longer than ``max_len`` tokens is
skipped and counted by reason (:class:`CorpusStats`, with the first few file:line examples),
never dropped silently. Its position (file, record, buffer, RNG) is saved as JSON, so a resumed
pretraining run continues with the same molecules.

The vocabulary (:func:`build_vocabulary`) is every token of the corpus plus
:data:`EXTRA_TOKENS`: stereo and charged atoms, bond directions, rarer elements, isotopes and
two-digit ring closures that MOSES (neutral, no stereochemistry, organic subset) does not contain
but ChEMBL fine-tuning sets do. Pretraining on MOSES never sees those extra tokens, so their
embeddings stay at their random initial values until fine-tuning teaches them; what they buy is
that such molecules are not rejected as ``<unk>``.

MOSES itself is found through the installed ``molsets`` package without importing it (its own
imports are broken).
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from drugforge.core.errors import InputError
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.data.io_text import SMILES_NAMES
from drugforge.molecules.featurize.tokenizer import (
    SPECIAL_TOKENS,
    UNK,
    SmilesTokenizer,
    randomize_smiles,
)

__all__ = [
    "EXTRA_TOKENS",
    "SKIP_REASONS",
    "CorpusFile",
    "CorpusScan",
    "CorpusStats",
    "SmilesStream",
    "TokenBatches",
    "build_vocabulary",
    "corpus_file",
    "in_holdout",
    "iter_records",
    "moses_dir",
    "moses_file",
    "read_smiles_set",
    "scan_corpus",
    "screen_smiles",
]

MosesSplit = Literal["train", "test", "test_scaffolds"]

#: tokens added to every pretraining vocabulary so that later fine-tuning data (ChEMBL) with
#: stereochemistry, charges, bond directions and rarer elements does not hit ``<unk>``
EXTRA_TOKENS: tuple[str, ...] = (
    # tetrahedral stereo centres
    "[C@H]", "[C@@H]", "[C@]", "[C@@]", "[N@]", "[N@@]", "[N@+]", "[N@@+]", "[S@]", "[S@@]",
    "[S@+]", "[S@@+]", "[P@]", "[P@@]", "[Si@]", "[Si@@]",
    # double-bond geometry
    "/", "\\",
    # charged atoms
    "[N+]", "[N-]", "[O-]", "[O+]", "[n+]", "[n-]", "[NH+]", "[NH2+]", "[NH3+]", "[nH+]",
    "[S+]", "[S-]", "[s+]", "[P+]", "[C-]", "[c-]", "[B-]", "[Cl-]", "[Br-]", "[I-]",
    "[Na+]", "[K+]", "[Li+]", "[Ca+2]", "[Mg+2]", "[Zn+2]",
    # elements beyond MOSES' organic subset, hydrogens, isotopes
    "I", "P", "B", "b", "p", "[Si]", "[Se]", "[se]", "[te]", "[B]", "[H]", "[2H]", "[3H]",
    "[13C]", "[11C]", "[18F]", "[125I]", "[SH]", "[PH]", "[nH]", "[NH]", "[CH]", "[CH2]",
    # bonds and ring closures MOSES does not use
    "#", ".", "5", "6", "7", "8", "9", "%10", "%11", "%12", "%13", "%14", "%15",
)  # fmt: skip

#: why a molecule was left out of training
SKIP_REASONS: tuple[str, ...] = ("empty", "invalid", "unknown_token", "too_long")
_N_EXAMPLES = 10  # skipped molecules listed by file:line
_HOLDOUT_BUCKETS = 10_000


# ------------------------------------------------------------------------------- MOSES
def moses_dir() -> Path:
    """The MOSES data directory of the installed ``molsets`` package (never imported)."""
    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        raise InputError("MOSES data not found: install the molsets package (pip install molsets)")
    path = Path(spec.origin).parent / "dataset" / "data"
    if not (path / "train.csv.gz").is_file():
        raise InputError("the molsets package has no MOSES data files", path=path)
    return path


def moses_file(split: MosesSplit = "train") -> Path:
    """MOSES ``train`` (1.58 M), ``test`` (176 k) or ``test_scaffolds`` SMILES (``.csv.gz``)."""
    if split not in ("train", "test", "test_scaffolds"):
        raise ValueError(f"unknown MOSES split '{split}'; choose from: train, test, test_scaffolds")
    path = moses_dir() / f"{split}.csv.gz"
    if not path.is_file():
        raise InputError("MOSES file missing", path=path)
    return path


# ------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class CorpusFile:
    """A corpus file and where its SMILES are: ``column`` of a table, or first field (smi)."""

    path: Path
    delimiter: str | None  # ',' or '\t' for tables; None for .smi/.txt
    column: int  # index of the SMILES field
    header: bool  # the first line is a header


def _kind(path: Path) -> tuple[str | None, bool]:
    name = path.name.lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    for suffix, delimiter in ((".csv", ","), (".tsv", "\t"), (".tab", "\t")):
        if stem.endswith(suffix):
            return delimiter, gz
    if stem.endswith((".smi", ".smiles", ".ism", ".txt")):
        return None, gz
    raise InputError(
        "unsupported corpus file type; use .smi, .txt, .csv or .tsv (optionally .gz)", path=path
    )


def _open_text(path: Path) -> tuple[io.TextIOWrapper, Any]:
    """Text stream of ``path`` (gunzipped when needed) and the raw file (its tell() is progress).

    Bytes that are not UTF-8 become U+FFFD, so such a line is counted as invalid, not dropped.
    """
    raw = path.open("rb")
    gz = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    stream: Any = gzip.GzipFile(fileobj=raw) if gz else raw
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=""), raw


def corpus_file(path: str | os.PathLike[str], smiles_column: str | None = None) -> CorpusFile:
    """Check ``path`` and find its SMILES column (by name, else a usual SMILES column name)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", path=p)
    delimiter, _ = _kind(p)
    text, _ = _open_text(p)
    with text:
        first = ""
        for line in text:
            if line.strip() and not line.lstrip().startswith("#"):
                first = line
                break
    if not first:
        raise InputError("file is empty (no SMILES)", path=p)
    if delimiter is None:
        token = first.split()[0].lower() if first.split() else ""
        if smiles_column is not None and token != smiles_column.lower():
            raise InputError(f"column '{smiles_column}' not found: a .smi file has no header "
                             "naming it", path=p)  # fmt: skip
        return CorpusFile(p, None, 0, header=token in SMILES_NAMES)
    names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter))]
    lowered = [n.lower() for n in names]
    if smiles_column is not None:
        wanted = [i for i, n in enumerate(lowered) if n == smiles_column.lower()]
        if not wanted:
            raise InputError(
                f"column '{smiles_column}' not found; available: {', '.join(names)}", path=p
            )
        return CorpusFile(p, delimiter, wanted[0], header=True)
    for candidates in (SMILES_NAMES, None):
        for i, n in enumerate(lowered):
            if (n in candidates) if candidates else ("smiles" in n):
                return CorpusFile(p, delimiter, i, header=True)
    raise InputError(
        f"no SMILES column found (columns: {', '.join(names)}); name it with smiles_column", path=p
    )


def iter_records(
    file: CorpusFile,
    start: int = 0,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, str]]:
    """``(line number, SMILES text)`` of every record of ``file``, skipping the first ``start``.

    Blank lines and ``#`` comments of .smi files are not records. ``on_bytes`` is called now and
    then with the number of (compressed) bytes read so far.
    """
    text, raw = _open_text(file.path)
    with text:
        if file.delimiter is None:
            rows: Iterator[tuple[int, str]] = (
                (number, line.split(None, 1)[0] if line.strip() else "")
                for number, line in enumerate(text, start=1)
                if line.strip() and not line.lstrip().startswith("#")
            )
        else:
            reader = csv.reader(text, delimiter=file.delimiter)
            rows = (
                (reader.line_num, row[file.column].strip() if len(row) > file.column else "")
                for row in reader
                if row
            )
        header_pending = file.header
        index = 0
        for number, smiles in rows:
            if header_pending:  # the first line with content is the header, not a record
                header_pending = False
                continue
            if index >= start:
                yield number, smiles
            index += 1
            if on_bytes is not None and index % 20_000 == 0:
                on_bytes(raw.tell())
        if on_bytes is not None:
            on_bytes(raw.tell())


# -------------------------------------------------------------------------------- checks
def screen_smiles(smiles: str, tokenizer: SmilesTokenizer, max_len: int) -> str:
    """'' when ``smiles`` can be trained on, else the reason (one of :data:`SKIP_REASONS`).

    ``max_len`` counts ``<bos>`` and ``<eos>`` too.
    """
    if not smiles:
        return "empty"
    ids = tokenizer.encode(smiles)
    if tokenizer.unk_id in ids:
        return "unknown_token"
    if len(ids) > max_len:
        return "too_long"
    if parse_smiles(smiles) is None:
        return "invalid"
    return ""


def in_holdout(smiles: str, fraction: float) -> bool:
    """Whether ``smiles`` belongs to the validation hold-out: a hash of the text, so the split
    needs no pass over the file, is the same in every run and never depends on the seed."""
    return zlib.crc32(smiles.encode()) % _HOLDOUT_BUCKETS < round(fraction * _HOLDOUT_BUCKETS)


@dataclass
class CorpusStats:
    """What the stream did with the corpus' records during its first pass."""

    read: int = 0
    used: int = 0
    held_out: int = 0  # validation molecules (hash hold-out), never trained on
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    examples: list[str] = field(default_factory=list)  # "path:line: reason: SMILES"
    passes: int = 0  # completed passes over the corpus
    augment_fallbacks: int = 0  # randomized SMILES unusable (token/length): original used

    def count_skip(self, reason: str, path: Path, line: int, smiles: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < _N_EXAMPLES:
            self.examples.append(f"{path.name}:{line}: {reason.replace('_', ' ')}: {smiles[:80]}")

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line, e.g. ``read 1,000: 990 used, 4 held out, skipped 6 (5 invalid, 1 too long)``."""
        where = "" if self.passes else " (first pass not finished)"
        parts = [f"read {self.read:,}{where}: {self.used:,} used"]
        if self.held_out:
            parts.append(f"{self.held_out:,} held out for validation")
        skipped = ", ".join(
            f"{n:,} {reason.replace('_', ' ')}" for reason, n in self.skipped.items() if n
        )
        parts.append(f"skipped {self.n_skipped:,}" + (f" ({skipped})" if skipped else ""))
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CorpusStats:
        return cls(
            read=int(data["read"]),
            used=int(data["used"]),
            held_out=int(data["held_out"]),
            skipped={str(k): int(v) for k, v in dict(data["skipped"]).items()},
            examples=[str(e) for e in data["examples"]],
            passes=int(data["passes"]),
            augment_fallbacks=int(data["augment_fallbacks"]),
        )


# ---------------------------------------------------------------------- vocabulary scan
@dataclass
class CorpusScan:
    """One pass over the corpus before training: token counts, record counts, hold-out."""

    token_counts: Counter[str]
    records: dict[str, int]  # path -> records
    holdout: list[str]  # raw hold-out SMILES (screened later, with the vocabulary)

    @property
    def n_records(self) -> int:
        return sum(self.records.values())


def scan_corpus(
    files: Sequence[CorpusFile],
    *,
    holdout_fraction: float = 0.0,
    max_holdout: int = 2000,
    on_bytes: Callable[[int, int], None] | None = None,
) -> CorpusScan:
    """Count tokens and records of ``files`` and collect up to ``max_holdout`` hold-out SMILES.

    ``on_bytes(done, total)`` reports progress over the files' (compressed) bytes.
    """
    counts: Counter[str] = Counter()
    records: dict[str, int] = {}
    holdout: list[str] = []
    sizes = [f.path.stat().st_size for f in files]
    total, done = sum(sizes), 0
    tokenize = SmilesTokenizer(SPECIAL_TOKENS).tokenize
    for file, size in zip(files, sizes, strict=True):
        n = 0
        for _, smiles in iter_records(file, on_bytes=_offset(on_bytes, done, total)):
            n += 1
            counts.update(tokenize(smiles))
            if holdout_fraction and len(holdout) < max_holdout and in_holdout(
                smiles, holdout_fraction
            ):
                holdout.append(smiles)
        records[str(file.path)] = n
        done += size
    counts.pop(UNK, None)
    return CorpusScan(counts, records, holdout)


def _offset(
    on_bytes: Callable[[int, int], None] | None, done: int, total: int
) -> Callable[[int], None] | None:
    """``on_bytes`` for one file: its byte position shifted by the files before it."""
    if on_bytes is None:
        return None
    report = on_bytes
    return lambda position: report(done + position, total)


def build_vocabulary(
    token_counts: Mapping[str, int], extra: Sequence[str] = EXTRA_TOKENS
) -> SmilesTokenizer:
    """The corpus tokens by decreasing count (ties by text), then the ``extra`` ones not seen."""
    seen = sorted((t for t in token_counts if t not in SPECIAL_TOKENS),
                  key=lambda t: (-token_counts[t], t))  # fmt: skip
    known = set(seen)
    added = [t for t in dict.fromkeys(extra) if t not in known and t not in SPECIAL_TOKENS]
    return SmilesTokenizer(SPECIAL_TOKENS + tuple(seen) + tuple(added))


def read_smiles_set(files: Sequence[CorpusFile], canonical: bool) -> set[str]:
    """Every SMILES of ``files`` (canonicalized with RDKit when ``canonical``; unparsable skipped).

    For the novelty of generated molecules. MOSES files are already RDKit-canonical, as the
    MOSES metrics assume, and are read with ``canonical=False``.
    """
    from rdkit import Chem

    out: set[str] = set()
    for file in files:
        for _, smiles in iter_records(file):
            if not canonical:
                out.add(smiles)
            elif (mol := parse_smiles(smiles)) is not None:
                out.add(Chem.MolToSmiles(mol))
    return out


# ---------------------------------------------------------------------------- streaming
class SmilesStream:
    """Endless, seeded, shuffled training SMILES from corpus files (pass after pass).

    Records go through :func:`screen_smiles` (skips counted in :attr:`stats` during the first
    pass) and, with ``holdout_fraction``, the hash hold-out (never trained on) into a shuffle
    buffer of ``buffer_size``; each draw takes a random buffer entry. With ``augment`` > 0 a
    drawn SMILES is replaced, with that probability, by a randomized SMILES of the molecule
    (the original when the random one has an unknown token or is too long).
    """

    def __init__(
        self,
        files: Sequence[CorpusFile],
        tokenizer: SmilesTokenizer,
        max_len: int,
        *,
        seed: int = 0,
        buffer_size: int = 10_000,
        augment: float = 0.0,
        holdout_fraction: float = 0.0,
    ) -> None:
        if not files:
            raise ValueError("a SmilesStream needs at least one file")
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        if not 0.0 <= augment <= 1.0:
            raise ValueError(f"augment must be in [0, 1], got {augment}")
        self.files = list(files)
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.buffer_size = buffer_size
        self.augment = augment
        self.holdout_fraction = holdout_fraction
        self.rng = np.random.default_rng(seed)
        self.stats = CorpusStats()
        self._buffer: list[str] = []
        self._file, self._record, self._used_this_pass = 0, 0, 0
        self._reader: Iterator[str] | None = None

    # ---------------------------------------------------------------- reading
    def _read(self) -> Iterator[str]:
        """Usable SMILES from the saved position on, pass after pass; keeps the position."""
        while True:
            while self._file < len(self.files):
                file = self.files[self._file]
                for line, smiles in iter_records(file, start=self._record):
                    self._record += 1
                    first_pass = self.stats.passes == 0
                    if first_pass:
                        self.stats.read += 1
                    if self.holdout_fraction and in_holdout(smiles, self.holdout_fraction):
                        self.stats.held_out += first_pass
                        continue
                    reason = screen_smiles(smiles, self.tokenizer, self.max_len)
                    if reason:
                        if first_pass:
                            self.stats.count_skip(reason, file.path, line, smiles)
                        continue
                    self.stats.used += first_pass
                    self._used_this_pass += 1
                    yield smiles
                self._file, self._record = self._file + 1, 0
            self.stats.passes += 1
            if self._used_this_pass == 0:
                raise InputError(
                    "no usable molecules in the corpus: " + self.stats.summary(),
                    path=self.files[0].path if len(self.files) == 1 else None,
                )
            self._file, self._record, self._used_this_pass = 0, 0, 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._reader is None:
            self._reader = self._read()
        while len(self._buffer) < self.buffer_size:
            self._buffer.append(next(self._reader))
        j = int(self.rng.integers(len(self._buffer)))
        smiles = self._buffer[j]
        self._buffer[j] = self._buffer[-1]
        self._buffer.pop()
        if self.augment and self.rng.random() < self.augment:
            randomized = randomize_smiles(smiles, self.rng)
            if screen_smiles(randomized, self.tokenizer, self.max_len):
                self.stats.augment_fallbacks += 1
            else:
                smiles = randomized
        return smiles

    # ---------------------------------------------------------------- position
    def state_dict(self) -> dict[str, Any]:
        """The position as JSON-serializable data: file, record, buffer, RNG state, counts."""
        return {
            "file": self._file,
            "record": self._record,
            "used_this_pass": self._used_this_pass,
            "buffer": list(self._buffer),
            "rng": self.rng.bit_generator.state,
            "stats": self.stats.to_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._file, self._record = int(state["file"]), int(state["record"])
        self._used_this_pass = int(state["used_this_pass"])
        self._buffer = list(state["buffer"])
        self.rng.bit_generator.state = dict(state["rng"])
        self.stats = CorpusStats.from_dict(state["stats"])
        self._reader = None  # reopened at the saved record


class TokenBatches:
    """Batches of ``batch_size`` SMILES from a :class:`SmilesStream` as padded token ids: a
    :class:`~drugforge.core.training.data.BatchStream` for language-model pretraining.

    ``next_batch()`` returns ``(tokens, ids)``: int64 ids (B, L) ``<bos> ... <eos> <pad>...``
    and the number of tokens predicted from them (all but each ``<bos>``).
    """

    unit = "tokens"

    def __init__(self, smiles: SmilesStream, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.smiles = smiles
        self.batch_size = batch_size

    def next_batch(self) -> tuple[int, np.ndarray]:
        batch = [next(self.smiles) for _ in range(self.batch_size)]
        ids, lengths = self.smiles.tokenizer.encode_batch(batch)  # (B, L), (B,)
        return int((lengths - 1).sum()), ids

    def state_dict(self) -> dict[str, Any]:
        return self.smiles.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.smiles.load_state_dict(state)
