"""RDKit helpers: parsing, standardization, scaffolds. No torch here."""

from __future__ import annotations

from drugforge.molecules.chem.mol import (
    StandardizerConfig,
    parse_smiles,
    parse_smiles_or_raise,
    smiles_problem,
    standardize_many,
    standardize_mol,
    standardize_smiles,
)
from drugforge.molecules.chem.scaffold import murcko_scaffold

__all__ = [
    "StandardizerConfig",
    "murcko_scaffold",
    "parse_smiles",
    "parse_smiles_or_raise",
    "smiles_problem",
    "standardize_many",
    "standardize_mol",
    "standardize_smiles",
]
