"""Physicochemical profile of a molecule: the descriptors of the drug-likeness rules, QED and SA.

Definitions (all RDKit; computed on the molecule as parsed, after removing explicit hydrogen atoms
when it has any, which is what RDKit's QED does):

=================  ===========================================================================
``mw``             average molecular weight, g/mol (``Descriptors.MolWt``)
``clogp``          Wildman-Crippen logP (``rdMolDescriptors.CalcCrippenDescriptors``, as
                   ``Crippen.MolLogP``)
``tpsa``           topological polar surface area of N and O (Ertl 2000; ``CalcTPSA``)
``hbd``            H-bond donors as Lipinski defined them: NH and OH bonds
                   (``CalcNumLipinskiHBD``, RDKit's ``NHOHCount``)
``hba``            H-bond acceptors as Lipinski defined them: N and O atoms
                   (``CalcNumLipinskiHBA``, RDKit's ``NOCount``)
``rotatable_bonds``  rotatable bonds, RDKit's strict definition (``CalcNumRotatableBonds(...,
                   Strict)``; the default of ``Descriptors.NumRotatableBonds`` and what QED uses)
``aromatic_rings``  aromatic rings of the SSSR (``CalcNumAromaticRings``)
``fsp3``           fraction of sp3 carbons (``CalcFractionCSP3``)
``formal_charge``  net formal charge (``Chem.GetFormalCharge``)
``heavy_atoms``    number of non-hydrogen atoms
``qed``            QED with the mean weights (Bickerton et al. 2012), equal to
                   ``rdkit.Chem.QED.qed`` (which counts donors/acceptors its own way)
``sa_score``       synthetic accessibility, 1 (easy) .. 10 (hard) (:mod:`drugforge.molecules.chem.sascore`)
=================  ===========================================================================

Speed: RDKit's ``QED.qed`` recomputes weight, logP and TPSA and matches its 116 structural alerts
and 11 acceptor patterns one by one (~1 ms per molecule). Here QED is fed the values computed
once, and the alert and acceptor patterns go through a
:class:`~drugforge.molecules.chem.alerts.SubstructureScreen` first, so only the patterns that can match are
matched; the result is the same number (tested against ``QED.qed``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from functools import lru_cache

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import QED
from rdkit.Chem import rdMolDescriptors as rdmd

from drugforge.molecules.chem.alerts import SubstructureScreen
from drugforge.molecules.chem.sascore import sa_score

__all__ = [
    "PROPERTY_COLUMNS",
    "mol_properties",
    "properties_many",
    "qed_queries",
]

#: the columns of :func:`properties_many`, in output order
PROPERTY_COLUMNS: tuple[str, ...] = (
    "mw",
    "clogp",
    "tpsa",
    "hbd",
    "hba",
    "rotatable_bonds",
    "aromatic_rings",
    "fsp3",
    "formal_charge",
    "heavy_atoms",
    "qed",
    "sa_score",
)

_STRICT = rdmd.NumRotatableBondsOptions.Strict


def qed_queries() -> list[Chem.Mol]:
    """RDKit QED's 116 structural alerts followed by its 11 acceptor patterns."""
    return list(QED.StructuralAlerts) + list(QED.Acceptors)


@lru_cache(maxsize=1)
def _qed_screen() -> SubstructureScreen:
    return SubstructureScreen(qed_queries())


def _heavy_form(mol: Chem.Mol) -> Chem.Mol:
    # RDKit's QED removes explicit hydrogens first; a molecule without any is used as is
    if mol.GetNumAtoms() != mol.GetNumHeavyAtoms():
        with rdBase.BlockLogs():
            return Chem.RemoveHs(mol)
    return mol


def _qed_aromatic_rings(mol: Chem.Mol) -> int:
    """QED's AROM: SSSR rings left after deleting aliphatic ring atoms bonded outside aromatics."""
    stripped = Chem.DeleteSubstructs(Chem.Mol(mol), QED.AliphaticRings)
    return len(Chem.GetSSSR(stripped))


def _qed(mol: Chem.Mol, qed_candidates: np.ndarray, mw: float, clogp: float, tpsa: float,
         rotb: float) -> float:  # fmt: skip
    """RDKit's QED from values already computed; only the screened patterns are matched."""
    n_alerts = len(QED.StructuralAlerts)
    alerts = 0
    acceptors = 0
    queries = _qed_query_list()
    for j in np.flatnonzero(qed_candidates):
        if j < n_alerts:
            alerts += mol.HasSubstructMatch(queries[j])
        else:
            acceptors += len(mol.GetSubstructMatches(queries[j]))
    qed_props = QED.QEDproperties(
        MW=mw,
        ALOGP=clogp,
        HBA=acceptors,
        HBD=rdmd.CalcNumHBD(mol),
        PSA=tpsa,
        ROTB=rotb,
        AROM=_qed_aromatic_rings(mol),
        ALERTS=alerts,
    )
    return float(QED.qed(mol, qedProperties=qed_props))


def _one(mol: Chem.Mol, qed_candidates: np.ndarray, wanted: frozenset[str]) -> list[float]:
    """The :data:`PROPERTY_COLUMNS` in ``wanted`` (others NaN); QED's inputs are computed once."""
    qed = "qed" in wanted
    mw = rdmd._CalcMolWt(mol) if qed or "mw" in wanted else math.nan
    clogp = rdmd.CalcCrippenDescriptors(mol)[0] if qed or "clogp" in wanted else math.nan
    tpsa = rdmd.CalcTPSA(mol) if qed or "tpsa" in wanted else math.nan
    rotb = (rdmd.CalcNumRotatableBonds(mol, _STRICT) if qed or "rotatable_bonds" in wanted
            else math.nan)  # fmt: skip
    cheap: dict[str, Callable[[Chem.Mol], float]] = {
        "hbd": rdmd.CalcNumLipinskiHBD,
        "hba": rdmd.CalcNumLipinskiHBA,
        "aromatic_rings": rdmd.CalcNumAromaticRings,
        "fsp3": rdmd.CalcFractionCSP3,
        "formal_charge": Chem.GetFormalCharge,
        "heavy_atoms": Chem.Mol.GetNumHeavyAtoms,
        "sa_score": sa_score,
    }
    values = {"mw": mw, "clogp": clogp, "tpsa": tpsa, "rotatable_bonds": rotb}
    if qed:
        values["qed"] = _qed(mol, qed_candidates, mw, clogp, tpsa, rotb)
    for name, fn in cheap.items():
        if name in wanted:
            values[name] = fn(mol)
    return [values.get(name, math.nan) if name in wanted else math.nan
            for name in PROPERTY_COLUMNS]  # fmt: skip


@lru_cache(maxsize=1)
def _qed_query_list() -> tuple[Chem.Mol, ...]:
    return tuple(qed_queries())


def properties_many(
    mols: Sequence[Chem.Mol | None],
    *,
    qed_candidates: np.ndarray | None = None,
    columns: Collection[str] | None = None,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The :data:`PROPERTY_COLUMNS` of each molecule.

    Parameters
    ----------
    mols : parsed molecules; ``None`` gives a row of NaN.
    qed_candidates : optional ``(len(mols), 127)`` screen of :func:`qed_queries` already computed
        by the caller (e.g. together with other patterns); computed here when None and needed.
    columns : compute only these (the others are NaN); ``None``: all. A screen that filters on
        ``qed`` alone does not pay for the SA score.

    Returns
    -------
    (columns, errors) : float arrays by column name, and per molecule ``''`` or why it failed
        (an RDKit error; its row is NaN).
    """
    wanted = frozenset(PROPERTY_COLUMNS if columns is None else columns)
    unknown = sorted(wanted - set(PROPERTY_COLUMNS))
    if unknown:
        raise ValueError(f"unknown property '{unknown[0]}'; choose from: "
                         f"{', '.join(PROPERTY_COLUMNS)}")  # fmt: skip
    n = len(mols)
    table = np.full((n, len(PROPERTY_COLUMNS)), np.nan)
    errors = ["" for _ in range(n)]
    ok = [i for i, m in enumerate(mols) if m is not None]
    heavy = {i: _heavy_form(mols[i]) for i in ok}  # type: ignore[arg-type]
    if qed_candidates is None:
        qed_candidates = np.ones((n, len(_qed_query_list())), dtype=bool)
        if "qed" in wanted:
            qed_candidates[ok] = _qed_screen().candidates([heavy[i] for i in ok])
    for i in ok:
        try:
            with rdBase.BlockLogs():
                table[i] = _one(heavy[i], qed_candidates[i], wanted)
        except Exception as err:  # noqa: BLE001 - RDKit raises assorted C++ exception types
            errors[i] = f"property calculation failed: {' '.join(str(err).split())}"
    return {name: table[:, j] for j, name in enumerate(PROPERTY_COLUMNS)}, errors


def mol_properties(mol: Chem.Mol) -> dict[str, float]:
    """The :data:`PROPERTY_COLUMNS` of one molecule (see the module docstring).

    Raises ``ValueError`` when RDKit cannot compute them.
    """
    columns, errors = properties_many([mol])
    if errors[0]:
        raise ValueError(errors[0])
    return {name: float(values[0]) for name, values in columns.items()}
