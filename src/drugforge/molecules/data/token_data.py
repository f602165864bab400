"""Training SMILES for the token models: validity and length checks, and compact token batches.

:func:`prepare_smiles` keeps the SMILES RDKit parses (canonical when asked) that fit in the
model's length, and lists the others by row (an invalid molecule is reported, never dropped
silently). :class:`TokenData` holds the token ids of millions of molecules in one flat array and
serves right-padded batches to the training loop.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem
from torch import Tensor

from drugforge.molecules.chem import parse_smiles
from drugforge.molecules.featurize.tokenizer import PAD_ID, SmilesTokenizer, tokenize_smiles

__all__ = ["PreparedSmiles", "TokenData", "prepare_smiles"]


class TokenData:
    """Token ids of many SMILES in one flat array (compact for millions of molecules).

    A :class:`~drugforge.core.training.loop.BatchSource`: ``batch(idx)`` is ``(ids (B, L) int64
    right-padded with <pad>, lengths (B,) int64)``, ``L`` the longest sequence in the batch.
    """

    def __init__(self, smiles: Sequence[str], tokenizer: SmilesTokenizer) -> None:
        flat = array("i")
        lengths = np.empty(len(smiles), dtype=np.int64)
        for i, s in enumerate(smiles):
            ids = tokenizer.encode(s)
            flat.extend(ids)
            lengths[i] = len(ids)
        self.flat = np.frombuffer(flat, dtype=np.int32) if len(flat) else np.zeros(0, np.int32)
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: np.ndarray) -> tuple[Tensor, Tensor]:
        lengths = self.lengths[idx]  # (B,)
        width = int(lengths.max(initial=0))
        cols = np.arange(width)[None, :]  # (1, L)
        inside = cols < lengths[:, None]  # (B, L)
        pos = np.where(inside, self.offsets[idx][:, None] + cols, 0)
        ids = np.where(inside, self.flat[pos], PAD_ID).astype(np.int64)  # (B, L)
        return torch.from_numpy(ids), torch.from_numpy(lengths.copy())


@dataclass
class PreparedSmiles:
    """Training SMILES after the validity and length checks; rows are 0-based input positions."""

    smiles: list[str]  # kept, canonical when asked
    invalid_rows: list[int]
    too_long_rows: list[int]

    @property
    def n_skipped(self) -> int:
        return len(self.invalid_rows) + len(self.too_long_rows)


def prepare_smiles(
    smiles: Sequence[str], *, canonicalize: bool = True, max_length: int = 100
) -> PreparedSmiles:
    """Keep the SMILES RDKit parses (canonical when ``canonicalize``) of at most ``max_length``
    tokens; report the others by row."""
    kept: list[str] = []
    invalid: list[int] = []
    too_long: list[int] = []
    for row, s in enumerate(smiles):
        mol = parse_smiles(s)
        if mol is None:
            invalid.append(row)
            continue
        text = Chem.MolToSmiles(mol) if canonicalize else str(s).strip()
        if len(tokenize_smiles(text)) > max_length:
            too_long.append(row)
            continue
        kept.append(text)
    return PreparedSmiles(kept, invalid, too_long)
