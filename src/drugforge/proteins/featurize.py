"""Protein sequence featurizers: fixed-length float32 vectors, and residue codes for CNNs.

>>> from drugforge.proteins.featurize import get_protein_featurizer
>>> X = get_protein_featurizer("composition").transform(["MKVL", "ACDEFGHIK"])
>>> X.shape, X.dtype
((2, 567), dtype('float32'))

Every featurizer validates its input with :func:`~drugforge.proteins.sequences.normalize_sequence`
(a bad sequence raises, naming its index; it never becomes a zero vector) and handles any length:
nothing is truncated. All sequences of a call are packed back to back into one code array, so
each featurizer is a few ``np.bincount`` calls over the whole batch, not a loop over residues.

Ambiguous letters (documented choice, shared by ``aac`` and ``dipeptide``): B counts half D,
half N; Z half E, half Q; U (selenocysteine) counts as C; X (unknown) is spread evenly, 1/20 to
each standard residue, so the composition of every sequence still sums to 1.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np

from drugforge.core.registry import Registry
from drugforge.proteins.sequences import (
    ALPHABET,
    STANDARD_AMINO_ACIDS,
    InvalidSequenceError,
    normalize_sequence,
)

__all__ = [
    "CTD_GROUPS",
    "PROTEIN_FEATURIZERS",
    "EncodedResidues",
    "ProteinFeaturizer",
    "encode_residues",
    "get_protein_featurizer",
    "list_protein_featurizers",
    "register_protein_featurizer",
]

N_CODES = len(ALPHABET) + 1  # residue codes 1..len(ALPHABET); 0 is padding
_STD = STANDARD_AMINO_ACIDS

# byte -> residue code; sequences are validated (ASCII letters of ALPHABET) before lookup
_CODE_OF_BYTE = np.zeros(256, dtype=np.int64)
for _i, _letter in enumerate(ALPHABET):
    _CODE_OF_BYTE[ord(_letter)] = _i + 1


def _residue_weights() -> np.ndarray:
    """(N_CODES, 20): how much each code counts towards each standard residue."""
    weights = np.zeros((N_CODES, len(_STD)))
    for code, letter in enumerate(ALPHABET, start=1):
        if letter in _STD:
            weights[code, _STD.index(letter)] = 1.0
    weights[1 + ALPHABET.index("X")] = 1.0 / len(_STD)
    weights[1 + ALPHABET.index("U"), _STD.index("C")] = 1.0
    for letter, (a, b) in {"B": ("D", "N"), "Z": ("E", "Q")}.items():
        weights[1 + ALPHABET.index(letter), [_STD.index(a), _STD.index(b)]] = 0.5
    return weights


_WEIGHTS = _residue_weights()

#: CTD attribute groupings (Dubchak et al. 1995, as tabulated by PROFEAT and propy), 3 classes
#: each. Two typos of propy 1.x are corrected so every grouping partitions the 20 residues:
#: C belongs to the first vdW class, and the second polarity class is PAGTS.
CTD_GROUPS: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("hydrophobicity", ("RKEDQN", "GASTPHY", "CLVIMFW")),
    ("vdw_volume", ("GASTPDC", "NVEQIL", "MHKFRYW")),
    ("polarity", ("LIFWCMVY", "PAGTS", "HQRKNED")),
    ("polarizability", ("GASDT", "CPNVEQIL", "KMHFRYW")),
    ("charge", ("KR", "ANCQGHILMFPSTWYV", "DE")),
    ("secondary_structure", ("EALMQKRH", "VIYCWFT", "GNPSD")),
    ("solvent_accessibility", ("ALFCGIVW", "RKQEND", "MPSTHY")),
)
_QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)  # first, 25 %, 50 %, 75 %, last residue of a class


def _ctd_classes() -> np.ndarray:
    """(7, N_CODES) class 0..2 of each code per grouping; -1 for padding and undecidable codes.

    U takes C's class; B (D/N) and Z (E/Q) take the class their two residues share, else -1
    like X: such a residue counts in the length but in no class and no transition.
    """
    table = np.full((len(CTD_GROUPS), N_CODES), -1, dtype=np.int64)
    for g, (_, classes) in enumerate(CTD_GROUPS):
        cls = {aa: k for k, members in enumerate(classes) for aa in members}
        for code, letter in enumerate(ALPHABET, start=1):
            options = {"U": "C", "B": "DN", "Z": "EQ"}.get(letter, letter)
            found = {cls.get(aa, -1) for aa in options}
            table[g, code] = found.pop() if len(found) == 1 else -1
    return table


_CTD_CLASS = _ctd_classes()


@dataclass(frozen=True)
class _Packed:
    """A batch of validated sequences, back to back: codes (T,), owner (T,), lengths (n,)."""

    codes: np.ndarray  # (T,) int64 residue codes 1..24
    owner: np.ndarray  # (T,) int64 index of the sequence each residue belongs to
    lengths: np.ndarray  # (n,) int64
    starts: np.ndarray  # (n,) int64 offset of each sequence in ``codes``

    @property
    def n(self) -> int:
        return len(self.lengths)

    def pairs(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Start indices (into ``codes``) of the k-mers inside one sequence, and their owner."""
        total = len(self.codes)
        start = np.arange(max(total - k + 1, 0))
        inside = self.owner[start] == self.owner[start + k - 1] if k > 1 else start >= 0
        start = start[inside]
        return start, self.owner[start]


def _pack(seqs: Sequence[str]) -> _Packed:
    if isinstance(seqs, str):  # a lone string would be featurized letter by letter
        raise TypeError("expected a list of sequences, got one string")
    normalized: list[str] = []
    for index, seq in enumerate(seqs):
        try:
            normalized.append(normalize_sequence(seq))
        except InvalidSequenceError as err:
            raise InvalidSequenceError(
                f"sequence {index}: {err.message}", residue=err.residue, position=err.position
            ) from None
    lengths = np.fromiter(map(len, normalized), dtype=np.int64, count=len(normalized))
    codes = _CODE_OF_BYTE[np.frombuffer("".join(normalized).encode("ascii"), dtype=np.uint8)]
    owner = np.repeat(np.arange(len(normalized), dtype=np.int64), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return _Packed(codes=codes, owner=owner, lengths=lengths, starts=starts)


def _per_sequence(owner: np.ndarray, key: np.ndarray, n: int, size: int) -> np.ndarray:
    """Counts of ``key`` (0..size-1) per sequence: (n, size) float64."""
    return np.bincount(owner * size + key, minlength=n * size).reshape(n, size).astype(np.float64)


# ------------------------------------------------------------------------------- contract
class ProteinFeaturizer(ABC):
    """Sequences -> (n, dim) float32. Stateless: ``params()`` (JSON) rebuilds it by name."""

    name: ClassVar[str] = "base"

    @property
    @abstractmethod
    def dim(self) -> int:
        """Number of features."""

    @abstractmethod
    def _compute(self, packed: _Packed) -> np.ndarray:
        """(n, dim) float64 features of a packed, validated batch."""

    def params(self) -> dict[str, Any]:
        """JSON-serializable constructor arguments: ``get_protein_featurizer(name, **params)``."""
        return {}

    def feature_names(self) -> list[str]:
        """Names of the features, in output order."""
        return [f"{self.name}_{i}" for i in range(self.dim)]

    def transform(self, seqs: Sequence[str]) -> np.ndarray:
        """Featurize ``seqs`` (validated and normalized first): (n, dim) float32.

        Raises
        ------
        InvalidSequenceError
            For the first invalid sequence, naming its 0-based index.
        """
        packed = _pack(seqs)
        if packed.n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._compute(packed).astype(np.float32)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


#: protein featurizers by name (``protein_featurizer: NAME`` in configs)
PROTEIN_FEATURIZERS: Registry[type[ProteinFeaturizer]] = Registry("protein featurizer")

_F = TypeVar("_F", bound=type[ProteinFeaturizer])


def register_protein_featurizer(cls: _F) -> _F:
    """Class decorator: add ``cls`` to :data:`PROTEIN_FEATURIZERS` under ``cls.name``."""
    PROTEIN_FEATURIZERS.add(cls, name=cls.name)
    return cls


def list_protein_featurizers() -> list[str]:
    """Registered protein featurizer names, sorted."""
    return sorted(PROTEIN_FEATURIZERS.names())


def get_protein_featurizer(name: str = "composition", **params: Any) -> ProteinFeaturizer:
    """Build the featurizer registered as ``name`` (default ``composition``) with ``params``.

    Raises
    ------
    ValueError
        For an unknown name (listing the choices and the closest one) or bad parameters.
    """
    cls = PROTEIN_FEATURIZERS.get(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"bad parameters for protein featurizer {name!r}: {err}") from None


# ------------------------------------------------------------------------------- featurizers
@register_protein_featurizer
class AminoAcidComposition(ProteinFeaturizer):
    """Amino-acid composition: fraction of each of the 20 standard residues (20)."""

    name = "aac"

    @property
    def dim(self) -> int:
        return len(_STD)

    def _compute(self, packed: _Packed) -> np.ndarray:
        counts = _per_sequence(packed.owner, packed.codes, packed.n, N_CODES)  # (n, 25)
        return (counts @ _WEIGHTS) / packed.lengths[:, None]  # (n, 20)

    def feature_names(self) -> list[str]:
        return [f"aac_{aa}" for aa in _STD]


@register_protein_featurizer
class DipeptideComposition(ProteinFeaturizer):
    """Dipeptide composition: fraction of each of the 400 ordered residue pairs (400)."""

    name = "dipeptide"

    @property
    def dim(self) -> int:
        return len(_STD) ** 2

    def _compute(self, packed: _Packed) -> np.ndarray:
        start, owner = packed.pairs(2)
        key = packed.codes[start] * N_CODES + packed.codes[start + 1]
        pairs = _per_sequence(owner, key, packed.n, N_CODES**2).reshape(-1, N_CODES, N_CODES)
        std = _WEIGHTS.T @ pairs @ _WEIGHTS  # (n, 20, 20): first residue x second residue
        # a single residue has no pair: its row stays 0 (the definition, not a fallback)
        return std.reshape(packed.n, -1) / np.maximum(packed.lengths - 1, 1)[:, None]

    def feature_names(self) -> list[str]:
        return [f"dpc_{a}{b}" for a, b in product(_STD, repeat=2)]


@register_protein_featurizer
class CTD(ProteinFeaturizer):
    """Composition, transition, distribution over 7 attribute groupings (21 + 21 + 105 = 147).

    For grouping g with classes 1..3: C = fraction of residues in each class; T = fraction of
    the L-1 neighbour pairs that switch between classes 1/2, 1/3 and 2/3 (either order); D =
    position (1-based) of the first, 25 %, 50 %, 75 % and last residue of each class, divided
    by L (propy reports percent; fractions keep every feature in [0, 1]). The q-th residue of a
    class with n members is its max(1, floor(q n))-th (propy wraps to the last one when
    floor(q n) = 0). An absent class gives D = 0. Output order: all C, all T, all D, grouping by
    grouping in :data:`CTD_GROUPS` order.
    """

    name = "ctd"

    @property
    def dim(self) -> int:
        return len(CTD_GROUPS) * (3 + 3 + 3 * len(_QUANTILES))

    def _compute(self, packed: _Packed) -> np.ndarray:
        n, n_groups = packed.n, len(CTD_GROUPS)
        cls = _CTD_CLASS[:, packed.codes]  # (7, T) class of each residue per grouping
        groups = np.arange(n_groups)[:, None]
        # one bincount over all groupings: key (grouping, sequence, class)
        slot = groups * n + packed.owner  # (7, T)
        known = cls >= 0
        comp = np.bincount(slot[known] * 3 + cls[known], minlength=n_groups * n * 3)
        comp = comp.reshape(n_groups, n, 3)

        start, owner = packed.pairs(2)
        a, b = cls[:, start], cls[:, start + 1]  # (7, P) classes of each neighbour pair
        switch = (a >= 0) & (b >= 0) & (a != b)
        pair_slot = (groups * n + owner)[switch]
        trans = np.bincount(pair_slot * 3 + (a + b - 1)[switch], minlength=n_groups * n * 3)
        trans = trans.reshape(n_groups, n, 3)  # pair kinds 1-2, 1-3, 2-3 -> a + b - 1 = 0, 1, 2

        # residues of each (grouping, sequence, class) bucket, in sequence order (stable sort)
        bucket = (slot * 3 + cls)[known]
        position = np.broadcast_to(
            np.arange(len(packed.codes)) - packed.starts[packed.owner], cls.shape
        )
        order = np.argsort(bucket, kind="stable")
        sorted_pos = position[known][order] + 1  # 1-based positions
        count = comp.reshape(-1)
        first = np.concatenate([[0], np.cumsum(count)[:-1]])
        kth = np.maximum(np.floor(np.outer(count, _QUANTILES)).astype(np.int64), 1)  # (B, 5)
        present = count > 0
        positions = np.zeros((len(count), len(_QUANTILES)))
        positions[present] = sorted_pos[first[present, None] + kth[present] - 1]
        dist = positions.reshape(n_groups, n, 3 * len(_QUANTILES))

        lengths = packed.lengths[None, :, None].astype(np.float64)
        parts = (comp / lengths, trans / np.maximum(lengths - 1, 1), dist / lengths)
        return np.concatenate([p.transpose(1, 0, 2).reshape(n, -1) for p in parts], axis=1)

    def feature_names(self) -> list[str]:
        names = [f"ctd_C_{g}_{k}" for g, _ in CTD_GROUPS for k in (1, 2, 3)]
        names += [f"ctd_T_{g}_{k}" for g, _ in CTD_GROUPS for k in ("12", "13", "23")]
        quantiles = [f"{int(q * 100):03d}" for q in _QUANTILES]
        names += [f"ctd_D_{g}_{k}_{q}" for g, _ in CTD_GROUPS for k in (1, 2, 3) for q in quantiles]
        return names


@lru_cache(maxsize=8)
def _kmer_bucket(dim: int) -> np.ndarray:
    """(24**3,) bucket of every 3-mer over ALPHABET: blake2b of its letters, mod ``dim``.

    A cryptographic hash of the text, not Python's salted ``hash``, so buckets are the same in
    every process and every version.
    """
    kmers = ("".join(t).encode("ascii") for t in product(ALPHABET, repeat=3))
    digests = (hashlib.blake2b(k, digest_size=8).digest() for k in kmers)
    return np.fromiter((int.from_bytes(d, "little") % dim for d in digests), dtype=np.int64)


@register_protein_featurizer
class HashedKmer(ProteinFeaturizer):
    """Hashed 3-mer counts over the full alphabet, folded into ``size`` buckets, per 3-mer.

    Counts are divided by the number of 3-mers (L - 2), so the vector sums to 1; a sequence
    shorter than 3 residues has no 3-mer and gives zeros.
    """

    name = "kmer"

    def __init__(self, size: int = 1024) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"kmer size must be a positive integer, got {size!r}")
        self.size = size

    @property
    def dim(self) -> int:
        return self.size

    def params(self) -> dict[str, Any]:
        return {"size": self.size}

    def _compute(self, packed: _Packed) -> np.ndarray:
        start, owner = packed.pairs(3)
        c = packed.codes - 1  # 0..23
        index = (c[start] * len(ALPHABET) + c[start + 1]) * len(ALPHABET) + c[start + 2]
        counts = _per_sequence(owner, _kmer_bucket(self.size)[index], packed.n, self.size)
        return counts / np.maximum(packed.lengths - 2, 1)[:, None]


@register_protein_featurizer
class Composition(ProteinFeaturizer):
    """The default: aac + dipeptide + ctd, concatenated (20 + 400 + 147 = 567)."""

    name = "composition"
    _parts: ClassVar[tuple[ProteinFeaturizer, ...]] = (
        AminoAcidComposition(),
        DipeptideComposition(),
        CTD(),
    )

    @property
    def dim(self) -> int:
        return sum(part.dim for part in self._parts)

    def _compute(self, packed: _Packed) -> np.ndarray:
        return np.concatenate([part._compute(packed) for part in self._parts], axis=1)

    def feature_names(self) -> list[str]:
        return [name for part in self._parts for name in part.feature_names()]


# ------------------------------------------------------------------------------- residue codes
class EncodedResidues(NamedTuple):
    """Integer residue codes of a batch, for embedding layers.

    ``codes`` (n, L) int64: 1..len(ALPHABET) in ALPHABET order, 0 = padding. ``lengths`` (n,):
    residues stored in ``codes``. ``truncated`` (n,) bool: the sequence was longer than
    ``max_len`` and only its first ``max_len`` residues are stored; callers must report these.
    """

    codes: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray


def encode_residues(seqs: Sequence[str], max_len: int | None = None) -> EncodedResidues:
    """Residue codes of ``seqs``, padded to the longest sequence or to ``max_len``.

    With ``max_len=None`` nothing is cut (``truncated`` is all False). With ``max_len`` every
    row is ``max_len`` wide and longer sequences are cut, flagged in ``truncated``, never
    silently.
    """
    if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
        raise ValueError(f"max_len must be a positive integer or None, got {max_len!r}")
    packed = _pack(seqs)
    width = int(packed.lengths.max(initial=0)) if max_len is None else max_len
    position = np.arange(len(packed.codes)) - packed.starts[packed.owner]
    keep = position < width
    codes = np.zeros((packed.n, width), dtype=np.int64)
    codes[packed.owner[keep], position[keep]] = packed.codes[keep]
    return EncodedResidues(
        codes=codes,
        lengths=np.minimum(packed.lengths, width),
        truncated=packed.lengths > width,
    )
