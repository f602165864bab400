"""The molecule steps of screening one library chunk: parse, similarity, substructure filters.

A chunk's records (SMILES text or SD blocks) become molecules or a reason why not (unreadable,
too large); every step keeps the chunk's rows in order and never drops one, so each record ends
in exactly one status. The model predictions and the profile values are added by the screen
command (:mod:`drugforge.workflows.screen`) between these steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator

from drugforge.core.errors import InputError
from drugforge.core.expressions import Expression
from drugforge.molecules.chem.mol import parse_smiles, smiles_problem
from drugforge.molecules.data.stream import LibraryChunk

__all__ = ["ChunkFilters", "ParsedChunk", "canonical_smiles", "fingerprint", "parse_chunk",
           "reference_molecule", "similarities", "substructure_query"]  # fmt: skip


def substructure_query(text: str, option: str) -> Chem.Mol:
    """A ``--require``/``--exclude`` query: SMARTS, or else SMILES (``option`` names it in errors)."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmarts(text)
        if mol is None:
            mol = Chem.MolFromSmiles(text)
    if mol is None:
        raise InputError(f"{option} '{text}' is neither valid SMARTS nor SMILES")
    return mol


def reference_molecule(text: str) -> Chem.Mol:
    """A ``--similar-to`` reference molecule."""
    mol = parse_smiles(text)
    if mol is None:
        raise InputError(f"--similar-to '{text}' is not a valid SMILES ({smiles_problem(text)})")
    return mol


_FPGEN = None


def fingerprint(mol: Chem.Mol) -> Any:
    """Morgan radius 2, 2048 bits: the fingerprint behind the ``similarity`` column."""
    global _FPGEN
    if _FPGEN is None:  # built on first use, once per worker process
        _FPGEN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return _FPGEN.GetFingerprint(mol)


@dataclass
class ParsedChunk:
    """A chunk's molecules by row: ``mols[i]`` is None where ``reason[i]`` says why."""

    mols: list[Chem.Mol | None]
    smiles: list[str]  # canonical SMILES where already known (SD records), else ""
    reason: list[str]


def parse_chunk(chunk: LibraryChunk, max_heavy_atoms: int) -> ParsedChunk:
    """Parse every record of ``chunk``; unreadable or too large ones get a reason instead."""
    n = len(chunk)
    reason = list(chunk.errors)
    mols: list[Chem.Mol | None] = [None] * n
    smiles = [""] * n
    with rdBase.BlockLogs():
        for i, text in enumerate(chunk.texts):
            if reason[i]:
                continue
            mol = (Chem.MolFromMolBlock(text) if chunk.kind == "molblock"
                   else parse_smiles(text))  # fmt: skip
            if mol is None:
                reason[i] = (
                    "SD record RDKit cannot read" if chunk.kind == "molblock"
                    else smiles_problem(text)
                )  # fmt: skip
                continue
            heavy = mol.GetNumHeavyAtoms()
            if heavy > max_heavy_atoms:
                reason[i] = (f"molecule too large: {heavy} heavy atoms (limit "
                             f"{max_heavy_atoms}, --max-heavy-atoms)")  # fmt: skip
                continue
            mols[i] = mol
            if chunk.kind == "molblock":  # an SD record has no input SMILES to show
                smiles[i] = Chem.MolToSmiles(mol)
    return ParsedChunk(mols, smiles, reason)


def similarities(mols: Sequence[Chem.Mol | None], references: Sequence[Any]) -> np.ndarray:
    """Per row, the highest Tanimoto similarity to the reference fingerprints (NaN: no molecule)."""
    sims = np.full(len(mols), np.nan)
    for i, mol in enumerate(mols):
        if mol is not None:
            sims[i] = max(DataStructs.BulkTanimotoSimilarity(fingerprint(mol), references))
    return sims


def canonical_smiles(mols: Sequence[Chem.Mol | None], smiles: list[str], status: np.ndarray,
                     dedup: str) -> None:  # fmt: skip
    """Fill ``smiles`` in place where the output needs it: for hits, and for every molecule when
    de-duplicating by SMILES (the key); the other rows skip the costly canonicalization."""
    for i, mol in enumerate(mols):
        if mol is not None and not smiles[i] and (status[i] == "hit" or dedup == "smiles"):
            smiles[i] = Chem.MolToSmiles(mol)


class ChunkFilters:
    """``--filter`` expressions, ``--require``/``--exclude`` substructures, ``--min-similarity``."""

    def __init__(self, filters: Sequence[Expression], require: Sequence[str],
                 exclude: Sequence[str], min_similarity: float | None) -> None:  # fmt: skip
        self.filters = list(filters)
        self.require = [(q, substructure_query(q, "--require")) for q in require]
        self.exclude = [(q, substructure_query(q, "--exclude")) for q in exclude]
        self.min_similarity = min_similarity

    def reasons(self, env: dict[str, np.ndarray], mols: Sequence[Chem.Mol | None],
                valid: np.ndarray) -> list[str]:  # fmt: skip
        """Per row, every failed condition ("; "-joined), or "" where all hold or not ``valid``."""
        n = len(mols)
        reasons = [""] * n

        def add(i: int, text: str) -> None:
            reasons[i] = f"{reasons[i]}; {text}" if reasons[i] else text

        for expression in self.filters:
            for j, text in enumerate(expression.failed_reasons(env, n)):
                if text and valid[j]:
                    add(j, text)
        for i in map(int, np.flatnonzero(valid)):
            mol = cast(Chem.Mol, mols[i])
            for text, query in self.require:
                if not mol.HasSubstructMatch(query):
                    add(i, f"lacks required substructure {text}")
            for text, query in self.exclude:
                if mol.HasSubstructMatch(query):
                    add(i, f"has excluded substructure {text}")
            if self.min_similarity is not None and not (
                env["similarity"][i] >= self.min_similarity
            ):
                add(i, f"similarity {env['similarity'][i]:.3f} < {self.min_similarity}")
        return reasons
