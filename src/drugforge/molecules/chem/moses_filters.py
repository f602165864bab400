"""The MOSES "Filters" metric: medicinal-chemistry (MCF) and PAINS alerts, allowed atoms, charges.

A molecule passes, as in MOSES (``moses/metrics/utils.py::mol_passes_filters``, Polykovskiy et al.
2020), when it has no ring of 8 or more atoms, no charged atom, only the atoms C, N, S, O, F, Cl,
Br and H, matches none of the 22 MCF and 480 PAINS SMARTS on its hydrogen-explicit form, and writes
a non-isomeric SMILES that reads back.

The SMARTS are MOSES' own files (``mcf.csv`` and ``wehi_pains.csv`` of the ``molsets`` package),
located without importing ``moses`` (its imports are broken). They are matched through one RDKit
``FilterCatalog`` rather than 502 Python-level ``HasSubstructMatch`` calls: the same substructure
test (first match wins, chirality ignored), about 3x faster.
"""

from __future__ import annotations

import csv
import importlib.util
from functools import lru_cache
from pathlib import Path

from rdkit import Chem, rdBase
from rdkit.Chem import FilterCatalog

from drugforge.core.errors import InputError

__all__ = [
    "MOSES_ALLOWED_ATOMS",
    "moses_filter_smarts",
    "moses_package_dir",
    "passes_moses_filters",
]

#: atoms a MOSES-compliant molecule may contain
MOSES_ALLOWED_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})

_INSTALL_HINT = "install it with: pip install --no-deps molsets==0.3.1 (make install does)"


def moses_package_dir() -> Path:
    """Folder of the installed ``moses`` package (from ``molsets``), found without importing it.

    Raises
    ------
    InputError
        When the package is not installed.
    """
    try:
        spec = importlib.util.find_spec("moses")
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise InputError(f"the MOSES package files (molsets) are not installed; {_INSTALL_HINT}")
    return Path(spec.origin).parent


@lru_cache(maxsize=1)
def moses_filter_smarts() -> tuple[str, ...]:
    """The 502 SMARTS of MOSES' filters: 22 MCF alerts then 480 PAINS (``wehi_pains.csv``)."""
    folder = moses_package_dir() / "metrics"
    mcf_path, pains_path = folder / "mcf.csv", folder / "wehi_pains.csv"
    for path in (mcf_path, pains_path):
        if not path.is_file():
            raise InputError(f"MOSES filter file missing; {_INSTALL_HINT}", path=path)
    # the csv module rather than pandas: worker processes import this module and pandas is slow
    with open(mcf_path, newline="", encoding="utf-8") as handle:
        mcf = [row["smarts"].strip() for row in csv.DictReader(handle)]
    with open(pains_path, newline="", encoding="utf-8") as handle:  # no header: smarts, name
        pains = [row[0].strip() for row in csv.reader(handle) if row]
    return tuple(mcf + pains)


@lru_cache(maxsize=1)
def _catalog() -> FilterCatalog.FilterCatalog:
    catalog = FilterCatalog.FilterCatalog()
    for i, smarts in enumerate(moses_filter_smarts()):
        pattern = Chem.MolFromSmarts(smarts)
        if pattern is None:
            raise InputError(f"MOSES filter SMARTS {i + 1} does not parse: {smarts!r}")
        matcher = FilterCatalog.SmartsMatcher(f"moses_{i}", pattern, 1)
        catalog.AddEntry(FilterCatalog.FilterCatalogEntry(f"moses_{i}", matcher))
    return catalog


def passes_moses_filters(mol: Chem.Mol | None) -> bool:
    """True when ``mol`` passes every MOSES filter (see the module docstring); ``None`` fails."""
    if mol is None or mol.GetNumAtoms() == 0:
        return False
    ring_info = mol.GetRingInfo()
    if any(len(ring) >= 8 for ring in ring_info.AtomRings()):
        return False
    atoms = mol.GetAtoms()
    if any(atom.GetFormalCharge() != 0 for atom in atoms):
        return False
    if any(atom.GetSymbol() not in MOSES_ALLOWED_ATOMS for atom in atoms):
        return False
    with rdBase.BlockLogs():
        if _catalog().HasMatch(Chem.AddHs(mol)):
            return False
        smiles = Chem.MolToSmiles(mol, isomericSmiles=False)
        return bool(smiles) and Chem.MolFromSmiles(smiles) is not None
