"""Atom-level SMILES tokenizer with a saved vocabulary, for the chemical language models.

Tokens are the pieces a chemist reads in a SMILES string: a bracket atom (``[nH]``, ``[C@@H]``,
``[O-]``) is one token, two-letter organic-subset elements (``Cl``, ``Br``) are one token, a ring
closure is one token (``1`` or ``%12``), and so is every bond, branch and dot symbol. This is the
regular expression of Schwaller et al. (Molecular Transformer, 2019) written out piece by piece.

Text that no token covers (a stray character, a typo) becomes ``<unk>``: encoding never drops a
character silently, and :meth:`SmilesTokenizer.tokenize` checks that the tokens join back into the
input string exactly.

>>> tok = SmilesTokenizer.build(["CC(=O)Oc1ccccc1C(=O)O", "C[NH3+]"])
>>> tok.tokenize("C[NH3+]Cl")
['C', '[NH3+]', 'Cl']
>>> tok.decode(tok.encode("CC(=O)O"))
'CC(=O)O'
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem

from drugforge.core.errors import ArtifactError

__all__ = [
    "BOS",
    "BOS_ID",
    "EOS",
    "EOS_ID",
    "PAD",
    "PAD_ID",
    "SMILES_REGEX",
    "SPECIAL_TOKENS",
    "UNK",
    "UNK_ID",
    "SmilesTokenizer",
    "randomize_smiles",
    "tokenize_smiles",
]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
#: special tokens, always ids 0..3 in this order
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3  # their ids in every vocabulary

_PIECES = (
    r"\[[^\[\]]+\]",  # bracket atom: isotope, element, chirality, hydrogens, charge, class
    r"Br|Cl",  # two-letter organic-subset elements, before their one-letter prefixes
    r"[BCNOPSFI]|[bcnops]|\*",  # one-letter organic subset (aliphatic, aromatic), wildcard
    r"%\d{2}",  # ring closures 10-99
    r"\d",  # ring closures 0-9
    r"[=#$:~\-]|/|\\",  # bonds (single, double, triple, quadruple, aromatic, any, up, down)
    r"[().]",  # branches and the fragment separator
)
#: one alternative per token class; longer alternatives first so ``Cl`` is never ``C`` + ``l``
SMILES_REGEX = "|".join(f"(?:{p})" for p in _PIECES)
_TOKEN_RE = re.compile(SMILES_REGEX)
_VOCAB_FORMAT = "drugforge-smiles-vocab"
_VOCAB_VERSION = 1


def tokenize_smiles(smiles: str) -> list[str]:
    """Split ``smiles`` into tokens; characters no token covers become one ``<unk>`` per run."""
    tokens: list[str] = []
    pos = 0
    for match in _TOKEN_RE.finditer(smiles):
        if match.start() > pos:  # uncovered text before this token
            tokens.append(UNK)
        tokens.append(match.group())
        pos = match.end()
    if pos < len(smiles):
        tokens.append(UNK)
    return tokens


@dataclass(frozen=True)
class SmilesTokenizer:
    """A fixed vocabulary of SMILES tokens; ids 0-3 are ``<pad> <bos> <eos> <unk>``.

    Build one from a corpus with :meth:`build`, save it with :meth:`save` (a small JSON file)
    and load it with :meth:`load`. Two tokenizers with the same token list are equal.
    """

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if tuple(self.tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {', '.join(SPECIAL_TOKENS)}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary must not repeat a token")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, smiles: Iterable[str], min_count: int = 1) -> SmilesTokenizer:
        """A vocabulary of every token seen at least ``min_count`` times in ``smiles``.

        Tokens are ordered by decreasing count, ties by the token text, so the same corpus
        always gives the same ids.
        """
        counts: Counter[str] = Counter()
        for s in smiles:
            counts.update(t for t in tokenize_smiles(s) if t != UNK)
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        return cls(SPECIAL_TOKENS + tuple(kept))

    # ------------------------------------------------------------------ ids
    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    def __len__(self) -> int:
        return len(self.tokens)

    def token_id(self, token: str) -> int:
        """The id of ``token``; ``<unk>``'s id when it is not in the vocabulary."""
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        return index.get(token, self.unk_id)

    def tokenize(self, smiles: str) -> list[str]:
        """Tokens of ``smiles`` (see :func:`tokenize_smiles`); out-of-vocabulary ones stay."""
        return tokenize_smiles(smiles)

    def encode(self, smiles: str, *, bos: bool = True, eos: bool = True) -> list[int]:
        """Token ids of ``smiles``, framed by ``<bos>``/``<eos>`` unless told otherwise."""
        ids = [self.token_id(t) for t in tokenize_smiles(smiles)]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def has_unknown(self, smiles: str) -> bool:
        """True when some part of ``smiles`` has no token in this vocabulary."""
        return self.unk_id in self.encode(smiles, bos=False, eos=False)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The SMILES text of ``ids``: stops at the first ``<eos>``, skips ``<pad>``/``<bos>``.

        An ``<unk>`` id decodes to the text ``<unk>``, which is never a valid SMILES, so a
        string with an unknown token can never pass as a molecule.
        """
        out: list[str] = []
        for raw in ids:
            i = int(raw)
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            out.append(self.tokens[i] if 0 <= i < len(self.tokens) else UNK)
        return "".join(out)

    def encode_batch(
        self, smiles: Sequence[str], max_length: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Right-padded ``(n, L)`` int64 ids with ``<bos>``/``<eos>`` and the lengths ``(n,)``.

        ``L`` is the longest sequence, or ``max_length``; longer sequences are cut to
        ``max_length`` (their ``<eos>`` is lost; callers that must not cut filter first).
        """
        encoded = [self.encode(s) for s in smiles]
        lengths = np.array([len(e) for e in encoded], dtype=np.int64)
        width = int(lengths.max(initial=0)) if max_length is None else int(max_length)
        out = np.full((len(encoded), width), self.pad_id, dtype=np.int64)
        for row, ids in enumerate(encoded):
            cut = ids[:width]
            out[row, : len(cut)] = cut
        return out, np.minimum(lengths, width)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {"format": _VOCAB_FORMAT, "version": _VOCAB_VERSION, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "vocabulary") -> SmilesTokenizer:
        if data.get("format") != _VOCAB_FORMAT:
            raise ArtifactError(f"{source}: not a drugforge SMILES vocabulary")
        if int(data.get("version", 0)) > _VOCAB_VERSION:
            raise ArtifactError(
                f"{source}: vocabulary format {data.get('version')} is newer than this "
                f"drugforge reads ({_VOCAB_VERSION}); upgrade drugforge"
            )
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ArtifactError(f"{source}: 'tokens' must be a list of strings")
        try:
            return cls(tuple(tokens))
        except ValueError as err:
            raise ArtifactError(f"{source}: {err}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> SmilesTokenizer:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ArtifactError(f"cannot read vocabulary: {err}", path=p) from None
        if not isinstance(data, dict):
            raise ArtifactError("not a drugforge SMILES vocabulary", path=p)
        return cls.from_dict(data, source=str(p))


def randomize_smiles(smiles: str, rng: np.random.Generator) -> str:
    """A random, valid, non-canonical SMILES of the same molecule (SMILES enumeration).

    The atom order is a permutation drawn from ``rng``, so the same generator state gives the
    same string (RDKit's own ``doRandom`` uses a global random state). Returns ``smiles``
    unchanged when RDKit cannot parse it.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return smiles
    order = [int(i) for i in rng.permutation(mol.GetNumAtoms())]
    shuffled = Chem.RenumberAtoms(mol, order)
    return Chem.MolToSmiles(shuffled, canonical=False)
