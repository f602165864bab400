"""The property table: every physicochemical value drugforge exposes, defined once.

``drugforge profile`` (and so ``drugforge screen``'s built-in names) and ``drugforge optimize``'s
constraints and ``qed``/``sa`` scores all read :data:`PROPERTIES`: one entry per property with
its name, its RDKit definition (one function), a description and the other spellings accepted
for it (:func:`resolve_property`). All values are computed on the molecule as parsed, after
removing explicit hydrogen atoms when it has any, which is what RDKit's QED does:

=================  ===========================================================================
``mw``             average molecular weight, g/mol (``Descriptors.MolWt``)
``clogp``          Wildman-Crippen logP (``rdMolDescriptors.CalcCrippenDescriptors``, as
                   ``Crippen.MolLogP``); also spelled ``logp``
``tpsa``           topological polar surface area of N and O (Ertl 2000; ``CalcTPSA``)
``hbd``            H-bond donors as Lipinski defined them: NH and OH bonds
                   (``CalcNumLipinskiHBD``, RDKit's ``NHOHCount``)
``hba``            H-bond acceptors as Lipinski defined them: N and O atoms
                   (``CalcNumLipinskiHBA``, RDKit's ``NOCount``)
``rotatable_bonds``  rotatable bonds, RDKit's strict definition (``CalcNumRotatableBonds(...,
                   Strict)``; the default of ``Descriptors.NumRotatableBonds`` and what QED uses);
                   also spelled ``rotb``
``aromatic_rings``  aromatic rings of the SSSR (``CalcNumAromaticRings``)
``fsp3``           fraction of sp3 carbons (``CalcFractionCSP3``)
``formal_charge``  net formal charge (``Chem.GetFormalCharge``)
``heavy_atoms``    number of non-hydrogen atoms
``qed``            QED with the mean weights (Bickerton et al. 2012), equal to
                   ``rdkit.Chem.QED.qed`` (which counts donors/acceptors its own way)
``sa_score``       synthetic accessibility, 1 (easy) .. 10 (hard)
                   (:mod:`drugforge.molecules.chem.sascore`); also spelled ``sa``
``rings``          rings of the SSSR (``CalcNumRings``); not a profile column
=================  ===========================================================================

The first twelve are the profile's columns (:data:`PROPERTY_COLUMNS`, in output order).

Speed: RDKit's ``QED.qed`` recomputes weight, logP and TPSA and matches its 116 structural alerts
and 11 acceptor patterns one by one (~1 ms per molecule). In :func:`properties_many` QED is fed
the values computed once, and the alert and acceptor patterns go through a
:class:`~drugforge.molecules.chem.alerts.SubstructureScreen` first, so only the patterns that can
match are matched; the result is the same number (tested against ``QED.qed``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import QED
from rdkit.Chem import rdMolDescriptors as rdmd

from drugforge.molecules.chem.alerts import SubstructureScreen
from drugforge.molecules.chem.sascore import sa_score

__all__ = [
    "PROPERTIES",
    "PROPERTY_COLUMNS",
    "Property",
    "mol_properties",
    "properties_many",
    "property_spellings",
    "property_values",
    "qed",
    "qed_queries",
    "resolve_property",
]

_STRICT = rdmd.NumRotatableBondsOptions.Strict


def qed_queries() -> list[Chem.Mol]:
    """RDKit QED's 116 structural alerts followed by its 11 acceptor patterns."""
    return list(QED.StructuralAlerts) + list(QED.Acceptors)


@lru_cache(maxsize=1)
def _qed_query_list() -> tuple[Chem.Mol, ...]:
    return tuple(qed_queries())


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


def _clogp(mol: Chem.Mol) -> float:
    return float(rdmd.CalcCrippenDescriptors(mol)[0])


def _rotatable_bonds(mol: Chem.Mol) -> float:
    return float(rdmd.CalcNumRotatableBonds(mol, _STRICT))


#: the properties QED is computed from (computed once when a batch wants QED)
_QED_INPUTS = ("mw", "clogp", "tpsa", "rotatable_bonds")


def qed(mol: Chem.Mol) -> float:
    """RDKit's QED of a molecule without explicit hydrogens, from the table's own values."""
    inputs = [_BY_NAME[name].compute(mol) for name in _QED_INPUTS]
    return _qed(mol, np.ones(len(_qed_query_list()), dtype=bool), *inputs)


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Property:
    """One property: its name, its one definition, what it means, its other spellings.

    ``compute`` takes a molecule without explicit hydrogens (:func:`properties_many` removes
    them first); ``profile``: a column of ``drugforge profile`` (and a built-in name of
    ``drugforge screen``).
    """

    name: str
    compute: Callable[[Chem.Mol], float]
    description: str
    aliases: tuple[str, ...] = ()
    profile: bool = True


#: every property, the profile's columns first in their output order
PROPERTIES: tuple[Property, ...] = (
    Property("mw", rdmd._CalcMolWt, "average molecular weight, g/mol (Descriptors.MolWt)"),
    Property("clogp", _clogp, "Wildman-Crippen logP (Crippen.MolLogP)", aliases=("logp",)),
    Property("tpsa", rdmd.CalcTPSA, "topological polar surface area of N and O (Ertl 2000)"),
    Property("hbd", rdmd.CalcNumLipinskiHBD, "H-bond donors as Lipinski defined them: NH and OH"),
    Property("hba", rdmd.CalcNumLipinskiHBA, "H-bond acceptors as Lipinski defined them: N and O"),
    Property(
        "rotatable_bonds",
        _rotatable_bonds,
        "rotatable bonds (RDKit's strict definition)",
        aliases=("rotb",),
    ),
    Property("aromatic_rings", rdmd.CalcNumAromaticRings, "aromatic rings of the SSSR"),
    Property("fsp3", rdmd.CalcFractionCSP3, "fraction of sp3 carbons"),
    Property("formal_charge", Chem.GetFormalCharge, "net formal charge"),
    Property("heavy_atoms", Chem.Mol.GetNumHeavyAtoms, "number of non-hydrogen atoms"),
    Property("qed", qed, "quantitative estimate of drug-likeness, 0..1 (RDKit's QED)"),
    Property(
        "sa_score", sa_score, "synthetic accessibility, 1 (easy) .. 10 (hard)", aliases=("sa",)
    ),
    Property("rings", rdmd.CalcNumRings, "rings of the SSSR", profile=False),
)

_BY_NAME: dict[str, Property] = {p.name: p for p in PROPERTIES}
#: every accepted spelling -> its property: the names in table order, then the aliases
_SPELLINGS: dict[str, Property] = {
    **_BY_NAME,
    **{alias: p for p in PROPERTIES for alias in p.aliases},
}

#: the columns of :func:`properties_many` (and of ``drugforge profile``), in output order
PROPERTY_COLUMNS: tuple[str, ...] = tuple(p.name for p in PROPERTIES if p.profile)


def resolve_property(name: str) -> Property:
    """The property called ``name`` or one of its aliases (``logp`` -> ``clogp``).

    Raises ``ValueError`` naming the choices for an unknown name.
    """
    found = _SPELLINGS.get(name)
    if found is None:
        raise ValueError(f"unknown property '{name}'; choose from: "
                         f"{', '.join(_BY_NAME)}")  # fmt: skip
    return found


def property_spellings() -> dict[str, str]:
    """Every accepted spelling -> its property's name (names first, then aliases)."""
    return {spelling: prop.name for spelling, prop in _SPELLINGS.items()}


def _one(mol: Chem.Mol, qed_candidates: np.ndarray, wanted: Sequence[str]) -> list[float]:
    """The properties ``wanted``, in that order; QED's inputs are computed once."""
    values: dict[str, float] = {}
    if "qed" in wanted:
        for name in _QED_INPUTS:
            values[name] = _BY_NAME[name].compute(mol)
        values["qed"] = _qed(mol, qed_candidates, *(values[name] for name in _QED_INPUTS))
    for name in wanted:
        if name not in values:
            values[name] = _BY_NAME[name].compute(mol)
    return [values[name] for name in wanted]


def properties_many(
    mols: Sequence[Chem.Mol | None],
    *,
    qed_candidates: np.ndarray | None = None,
    columns: Collection[str] | None = None,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The :data:`PROPERTY_COLUMNS` of each molecule (and any other table property asked for).

    Parameters
    ----------
    mols : parsed molecules; ``None`` gives a row of NaN.
    qed_candidates : optional ``(len(mols), 127)`` screen of :func:`qed_queries` already computed
        by the caller (e.g. together with other patterns); computed here when None and needed.
    columns : compute only these property names (the other profile columns are NaN); ``None``:
        the profile's. A screen that filters on ``qed`` alone does not pay for the SA score.

    Returns
    -------
    (columns, errors) : float arrays by name (the profile's columns, then any other property
        asked for), and per molecule ``''`` or why it failed (an RDKit error; its row is NaN).
    """
    wanted = frozenset(PROPERTY_COLUMNS if columns is None else columns)
    unknown = sorted(wanted - set(_BY_NAME))
    if unknown:
        raise ValueError(f"unknown property '{unknown[0]}'; choose from: "
                         f"{', '.join(_BY_NAME)}")  # fmt: skip
    names = [*PROPERTY_COLUMNS, *(p.name for p in PROPERTIES if not p.profile and p.name in wanted)]
    computed = [name for name in names if name in wanted]
    n = len(mols)
    table = np.full((n, len(computed)), np.nan)
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
                table[i] = _one(heavy[i], qed_candidates[i], computed)
        except Exception as err:  # noqa: BLE001 - RDKit raises assorted C++ exception types
            errors[i] = f"property calculation failed: {' '.join(str(err).split())}"
    out = {name: np.full(n, np.nan) for name in names}
    out.update({name: table[:, j] for j, name in enumerate(computed)})
    return out, errors


def property_values(mols: Sequence[Chem.Mol | None], name: str) -> tuple[np.ndarray, list[str]]:
    """One property (``name`` or an alias) of each molecule: (float values, error texts).

    The same numbers as the profile's column: ``None`` or a molecule RDKit fails on gives NaN
    (with the error text for the latter).
    """
    prop = resolve_property(name)
    columns, errors = properties_many(mols, columns=[prop.name])
    return columns[prop.name], errors


def mol_properties(mol: Chem.Mol) -> dict[str, float]:
    """The :data:`PROPERTY_COLUMNS` of one molecule (see the module docstring).

    Raises ``ValueError`` when RDKit cannot compute them.
    """
    columns, errors = properties_many([mol])
    if errors[0]:
        raise ValueError(errors[0])
    return {name: float(values[0]) for name, values in columns.items()}
