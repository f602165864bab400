"""Drug-likeness rules and structural alerts (PAINS, Brenk, NIH) for batches of molecules.

Rules (on values computed by :mod:`drugforge.molecules.chem.properties`; NaN in, missing out):

* **Lipinski's rule of five** (Lipinski et al., Adv. Drug Deliv. Rev. 1997, 23:3): one violation
  each for MW > 500, cLogP > 5, H-bond donors > 5 and acceptors > 10, with donors counted as NH
  and OH bonds and acceptors as N and O atoms, the paper's own definitions (the ``hbd``/``hba``
  columns). A molecule passes with at most one violation, as the paper states.
* **Veber** (Veber et al., J. Med. Chem. 2002, 45:2615): rotatable bonds <= 10 and TPSA <= 140.
* **Lead-likeness** (Teague, Davis, Leeson & Oprea, Angew. Chem. Int. Ed. 1999, 38:3743, in the
  form ZINC uses for its lead-like subset): 250 <= MW <= 350, cLogP <= 3.5, rotatable bonds <= 7.

Structural alerts are the entries of RDKit's ``FilterCatalog`` for PAINS (families A, B and C;
Baell & Holloway 2010), Brenk (Brenk et al. 2008) and NIH (Jadhav et al. 2010; Doveston et al.
2015), matched on the molecule as given (no explicit hydrogens), which is how RDKit ships them.
Each hit is an :class:`Alert` naming its family, the entry's description and the atoms of the
first match (0-based RDKit atom indices).

Speed: matching 765 catalog entries one after the other costs milliseconds per molecule (RDKit
evaluates every recursive SMARTS over the whole molecule before it can fail). A
:class:`SubstructureScreen` first removes the entries that cannot match, from element and bond
counts alone: every query atom allows a set of (element, aromaticity) pairs and every query bond
a set of bond orders, so a molecule with fewer atoms (bonds) of the allowed kinds than the query
needs cannot contain it. The test is computed for a whole batch with numpy, is never stricter
than the query (anything it cannot read counts as "any atom"/"any bond"), and leaves ~50-90 of the
765 entries per drug-like molecule to the exact RDKit match.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import FilterCatalog

__all__ = [
    "ALERT_FAMILIES",
    "RULE_COLUMNS",
    "Alert",
    "AlertMatcher",
    "SubstructureScreen",
    "alert_matcher",
    "count_families",
    "find_alerts",
    "format_alerts",
    "rule_columns",
]

#: alert families, in output order; each is one RDKit FilterCatalog (PAINS = A + B + C)
ALERT_FAMILIES: tuple[str, ...] = ("PAINS", "Brenk", "NIH")

_CATALOGS: dict[str, tuple[str, ...]] = {
    "PAINS": ("PAINS_A", "PAINS_B", "PAINS_C"),
    "Brenk": ("BRENK",),
    "NIH": ("NIH",),
}

# ----------------------------------------------------------------------------- rules

#: rule columns :func:`rule_columns` returns
RULE_COLUMNS: tuple[str, ...] = ("lipinski_violations", "lipinski", "veber", "leadlike")


def rule_columns(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Lipinski, Veber and lead-likeness for a batch (see the module docstring).

    ``values`` holds equal-length float arrays ``mw``, ``clogp``, ``hbd``, ``hba``, ``tpsa`` and
    ``rotatable_bonds`` (NaN for molecules that could not be profiled). Returns float arrays:
    ``lipinski_violations`` (0-4) and 1.0/0.0 for ``lipinski``, ``veber`` and ``leadlike``, with
    NaN wherever an input is NaN.
    """
    mw = np.asarray(values["mw"], dtype=np.float64)
    clogp = np.asarray(values["clogp"], dtype=np.float64)
    hbd = np.asarray(values["hbd"], dtype=np.float64)
    hba = np.asarray(values["hba"], dtype=np.float64)
    tpsa = np.asarray(values["tpsa"], dtype=np.float64)
    rotb = np.asarray(values["rotatable_bonds"], dtype=np.float64)
    violations = (
        (mw > 500).astype(np.float64)
        + (clogp > 5)
        + (hbd > 5)
        + (hba > 10)
    )
    missing_lip = np.isnan(mw) | np.isnan(clogp) | np.isnan(hbd) | np.isnan(hba)
    violations[missing_lip] = np.nan
    lipinski = np.where(missing_lip, np.nan, (violations <= 1).astype(np.float64))
    veber = np.where(
        np.isnan(rotb) | np.isnan(tpsa), np.nan, ((rotb <= 10) & (tpsa <= 140)).astype(np.float64)
    )
    lead = np.where(
        np.isnan(mw) | np.isnan(clogp) | np.isnan(rotb),
        np.nan,
        ((mw >= 250) & (mw <= 350) & (clogp <= 3.5) & (rotb <= 7)).astype(np.float64),
    )
    return {
        "lipinski_violations": violations,
        "lipinski": lipinski,
        "veber": veber,
        "leadlike": lead,
    }


# ----------------------------------------------------------------------------- the screen

_AROMATIC = 1000  # RDKit's AtomType encoding: atomic number + 1000 for an aromatic atom
_UNIVERSE = frozenset(z + a for z in range(119) for a in (0, _AROMATIC))
_ATOM_LEAF = re.compile(r"^(AtomAtomicNum|AtomType) (-?\d+) (=|!=) val$")
_AROMATIC_LEAF = re.compile(r"^(AtomIsAromatic|AtomIsAliphatic) 1 = val$")
_BOND_LEAF = re.compile(r"^BondOrder (\d+) = val$")
_BOND_NAMED = {
    "SingleOrAromaticBond 1 = val": frozenset({1, 12}),
    "SingleOrDoubleBond 1 = val": frozenset({1, 2}),
    "DoubleOrAromaticBond 1 = val": frozenset({2, 12}),
    "SingleOrDoubleOrAromaticBond 1 = val": frozenset({1, 2, 12}),
}

AtomSet = frozenset[int] | None  # allowed atom keys; None: any atom
BondSet = frozenset[int] | None  # allowed RDKit bond type codes; None: any bond


def _tree(description: str) -> list[tuple[int, str]]:
    lines = [line for line in description.split("\n") if line.strip()]
    return [((len(line) - len(line.lstrip(" "))) // 2, line.strip()) for line in lines]


def _children(tree: list[tuple[int, str]], i: int) -> tuple[list[int], int]:
    """Indices of the direct children of node ``i`` and the index after its subtree."""
    depth = tree[i][0]
    kids: list[int] = []
    j = i + 1
    while j < len(tree) and tree[j][0] > depth:
        if tree[j][0] == depth + 1:
            kids.append(j)
        j += 1
    return kids, j


def _atom_node(tree: list[tuple[int, str]], i: int) -> frozenset[int]:
    """Atom keys node ``i`` can match; unknown nodes (recursion, negated groups...) allow all."""
    name = tree[i][1]
    kids, _ = _children(tree, i)
    if name in ("AtomAnd", "AtomOr") and kids:
        sets = [_atom_node(tree, k) for k in kids]
        out = sets[0]
        for s in sets[1:]:
            out = out & s if name == "AtomAnd" else out | s
        return out
    match = _ATOM_LEAF.match(name)
    if match:
        value = int(match.group(2))
        if match.group(1) == "AtomAtomicNum":
            keys = frozenset({value, value + _AROMATIC})
        else:  # AtomType: the atomic number, +1000 when aromatic
            keys = frozenset({value})
        return keys if match.group(3) == "=" else _UNIVERSE - keys
    match = _AROMATIC_LEAF.match(name)
    if match:
        aromatic = match.group(1) == "AtomIsAromatic"
        return frozenset(k for k in _UNIVERSE if (k >= _AROMATIC) == aromatic)
    return _UNIVERSE


def _bond_node(tree: list[tuple[int, str]], i: int) -> frozenset[int] | None:
    name = tree[i][1]
    kids, _ = _children(tree, i)
    if name in ("BondAnd", "BondOr") and kids:
        sets = [_bond_node(tree, k) for k in kids]
        if name == "BondOr":
            if any(s is None for s in sets):
                return None
            return frozenset().union(*[s for s in sets if s is not None])
        known = [s for s in sets if s is not None]
        if not known:
            return None
        out = known[0]
        for s in known[1:]:
            out = out & s
        return out
    match = _BOND_LEAF.match(name)
    if match:
        return frozenset({int(match.group(1))})
    return _BOND_NAMED.get(name)


def _recursive_alternatives(smarts: str) -> list[Chem.Mol] | None:
    """The patterns P1, P2 ... of an atom written ``[$(P1),$(P2),...]``; None for any other."""
    if not (smarts.startswith("[$(") and smarts.endswith(")]")):
        return None
    body, parts, depth, start = smarts[1:-1], [], 0, 0
    for i, char in enumerate(body):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    if depth != 0 or not all(p.startswith("$(") and p.endswith(")") for p in parts):
        return None
    with rdBase.BlockLogs():
        patterns = [Chem.MolFromSmarts(p[2:-1]) for p in parts]
    if any(p is None or p.GetNumAtoms() == 0 for p in patterns):
        return None
    return patterns


def _query_alternatives(query: Chem.Mol) -> list[Chem.Mol] | None:
    """P1, P2 ... when the whole query is one atom ``[$(P1),$(P2),...]``: it matches exactly
    when the molecule contains one of them."""
    if query.GetNumAtoms() != 1:
        return None
    return _recursive_alternatives(Chem.MolToSmarts(query))


def _atom_set(atom: Chem.Atom) -> AtomSet:
    if atom.HasQuery():
        # "[$(P1),$(P2)]": the atom is the first atom of P1 or of P2 (e.g. a nitro group's N)
        alternatives = _recursive_alternatives(atom.GetSmarts())
        if alternatives is not None:
            sets = [_atom_set(p.GetAtomWithIdx(0)) for p in alternatives]
            if any(s is None for s in sets):
                return None
            return frozenset().union(*[s for s in sets if s is not None])
        keys = _atom_node(_tree(atom.DescribeQuery()), 0)
    elif atom.GetAtomicNum() > 0:
        z = atom.GetAtomicNum()
        keys = frozenset({z, z + _AROMATIC})
    else:
        keys = _UNIVERSE
    return None if keys == _UNIVERSE else keys


def _bond_set(bond: Chem.Bond) -> BondSet:
    if not bond.HasQuery():
        return None
    return _bond_node(_tree(bond.DescribeQuery()), 0)


def _subset(a: frozenset[int] | None, b: frozenset[int] | None) -> bool:
    """a <= b, with None as the full set."""
    if b is None:
        return True
    return a is not None and a <= b


BondReq = tuple[AtomSet, AtomSet, BondSet]


def _requirements(query: Chem.Mol) -> tuple[dict[frozenset[int], int], dict[BondReq, int]]:
    """Minimum atom counts per atom-key set and bond counts per (set, set, orders) of ``query``.

    A query atom whose set is a subset of S needs its own molecule atom in S, so the molecule
    needs at least as many atoms in S as the query has such atoms; the same holds for bonds.
    """
    atoms = [_atom_set(a) for a in query.GetAtoms()]
    finite = [s for s in atoms if s is not None]
    atom_needs = {s: sum(1 for t in finite if t <= s) for s in set(finite)}
    bonds: list[BondReq] = []
    for bond in query.GetBonds():
        s1, s2 = atoms[bond.GetBeginAtomIdx()], atoms[bond.GetEndAtomIdx()]
        orders = _bond_set(bond)
        if s1 is None and s2 is None and orders is None:
            continue
        bonds.append((s1, s2, orders))

    def inside(small: BondReq, big: BondReq) -> bool:
        if not _subset(small[2], big[2]):
            return False
        return (_subset(small[0], big[0]) and _subset(small[1], big[1])) or (
            _subset(small[0], big[1]) and _subset(small[1], big[0])
        )

    bond_needs = {req: sum(1 for other in bonds if inside(other, req)) for req in set(bonds)}
    return atom_needs, bond_needs


def _in(key: int, keys: AtomSet) -> bool:
    return keys is None or key in keys


class SubstructureScreen:
    """Which of many substructure queries can possibly match each molecule of a batch.

    ``candidates(mols)`` returns an ``(n_mols, n_queries)`` boolean matrix that is True wherever
    the query may match (and always where it does): a necessary condition from element and bond
    counts (see the module docstring). A query given as ``None`` is never screened out.
    """

    def __init__(self, queries: Sequence[Chem.Mol | None]) -> None:
        self.n_queries = len(queries)
        # A query that is one atom "[$(P1),$(P2),...]" matches exactly when the molecule contains
        # P1 or P2 ...: each alternative is screened on its own (the element/bond counts cannot
        # read inside a recursive SMARTS) and the query stays a candidate if any one can match.
        expanded: list[Chem.Mol | None] = []
        owners: list[int] = []
        for q, query in enumerate(queries):
            alternatives = _query_alternatives(query) if query is not None else None
            options: list[Chem.Mol | None] = list(alternatives) if alternatives else [query]
            for alternative in options:
                expanded.append(alternative)
                owners.append(q)
        self._owner_starts = np.flatnonzero(np.r_[True, np.diff(owners) != 0])
        self._expanded = len(expanded) != len(queries)
        queries = expanded
        atom_cols: dict[frozenset[int], int] = {}
        bond_cols: dict[BondReq, int] = {}
        atom_rows: list[tuple[int, int, int]] = []  # (query, atom-set column, need)
        bond_rows: list[tuple[int, int, int]] = []  # (query, bond-requirement column, need)
        for q, query in enumerate(queries):
            if query is None:
                continue
            atom_needs, bond_needs = _requirements(query)
            for keys, need in atom_needs.items():
                atom_rows.append((q, atom_cols.setdefault(keys, len(atom_cols)), need))
            for req, need in bond_needs.items():
                bond_rows.append((q, bond_cols.setdefault(req, len(bond_cols)), need))
        self._atom_sets = list(atom_cols)
        self._bond_reqs = list(bond_cols)
        # one requirement table over the concatenated [atom sets | bond requirements] counts,
        # grouped by query so that np.logical_or.reduceat gives "some requirement fails"
        rows = sorted(
            [(q, col, need) for q, col, need in atom_rows]
            + [(q, len(atom_cols) + col, need) for q, col, need in bond_rows]
        )
        self._req_columns = np.array([r[1] for r in rows], dtype=np.int64)
        self._req_needs = np.array([r[2] for r in rows], dtype=np.float32)
        req_queries = np.array([r[0] for r in rows], dtype=np.int64)
        self._group_queries, self._group_starts = np.unique(req_queries, return_index=True)
        self._n_expanded = len(queries)
        # vocabularies of the atom keys / bond keys seen so far, with their membership rows
        self._atom_vocab: dict[int, int] = {}
        self._atom_member: list[np.ndarray] = []
        self._bond_vocab: dict[tuple[int, int, int], int] = {}
        self._bond_member: list[np.ndarray] = []
        self._stacked: tuple[np.ndarray, np.ndarray] | None = None
        # the vocabularies grow as molecules are read: one batch at a time (a server's threads)
        self._lock = threading.Lock()

    def _atom_index(self, key: int) -> int:
        index = self._atom_vocab.get(key)
        if index is None:
            index = len(self._atom_vocab)
            self._atom_vocab[key] = index
            self._atom_member.append(
                np.array([key in s for s in self._atom_sets], dtype=np.float32)
            )
            self._stacked = None
        return index

    def _bond_index(self, key: tuple[int, int, int]) -> int:
        index = self._bond_vocab.get(key)
        if index is None:
            index = len(self._bond_vocab)
            self._bond_vocab[key] = index
            k1, k2, order = key
            self._bond_member.append(
                np.array(
                    [
                        (orders is None or order in orders)
                        and ((_in(k1, s1) and _in(k2, s2)) or (_in(k1, s2) and _in(k2, s1)))
                        for s1, s2, orders in self._bond_reqs
                    ],
                    dtype=np.float32,
                )
            )
            self._stacked = None
        return index

    def _membership(self) -> tuple[np.ndarray, np.ndarray]:
        if self._stacked is None:
            atoms = (
                np.vstack(self._atom_member)
                if self._atom_member
                else np.zeros((0, len(self._atom_sets)), np.float32)
            )
            bonds = (
                np.vstack(self._bond_member)
                if self._bond_member
                else np.zeros((0, len(self._bond_reqs)), np.float32)
            )
            self._stacked = (atoms, bonds)
        return self._stacked

    def _keys(self, mol: Chem.Mol) -> tuple[list[int], list[int]]:
        """Vocabulary indices of the molecule's atoms and bonds."""
        n = mol.GetNumAtoms()
        keys = []
        for i in range(n):
            atom = mol.GetAtomWithIdx(i)
            keys.append(atom.GetAtomicNum() + _AROMATIC * atom.GetIsAromatic())
        atom_index = [self._atom_index(k) for k in keys]
        bond_index = []
        for j in range(mol.GetNumBonds()):
            bond = mol.GetBondWithIdx(j)
            k1, k2 = keys[bond.GetBeginAtomIdx()], keys[bond.GetEndAtomIdx()]
            if k1 > k2:
                k1, k2 = k2, k1
            bond_index.append(self._bond_index((k1, k2, int(bond.GetBondType()))))
        return atom_index, bond_index

    def candidates(self, mols: Sequence[Chem.Mol], chunk: int = 256) -> np.ndarray:
        """``(len(mols), n_queries)`` booleans: False only where the query cannot match."""
        out = np.ones((len(mols), self._n_expanded), dtype=bool)
        if len(self._req_columns):
            for start in range(0, len(mols), chunk):
                with self._lock:
                    self._screen(mols[start : start + chunk], out[start : start + chunk])
        if not self._expanded:
            return out
        if not len(mols):
            return np.ones((0, self.n_queries), dtype=bool)
        return np.logical_or.reduceat(out, self._owner_starts, axis=1)

    def _screen(self, mols: Sequence[Chem.Mol], out: np.ndarray) -> None:
        n = len(mols)
        atom_flat: list[int] = []
        bond_flat: list[int] = []
        per_mol = [self._keys(mol) for mol in mols]
        n_atom_keys, n_bond_keys = len(self._atom_vocab), len(self._bond_vocab)
        for i, (atom_index, bond_index) in enumerate(per_mol):
            atom_flat.extend(i * n_atom_keys + k for k in atom_index)
            bond_flat.extend(i * n_bond_keys + k for k in bond_index)
        atom_member, bond_member = self._membership()
        atom_counts = np.bincount(np.asarray(atom_flat, np.int64), minlength=n * n_atom_keys)
        bond_counts = np.bincount(np.asarray(bond_flat, np.int64), minlength=n * n_bond_keys)
        # float32 so that BLAS does the products; the counts stay exact (small integers)
        counts = np.hstack(
            [
                atom_counts.reshape(n, n_atom_keys).astype(np.float32) @ atom_member,
                bond_counts.reshape(n, n_bond_keys).astype(np.float32) @ bond_member,
            ]
        )  # (n, n_atom_sets + n_bond_requirements): the molecule's atoms/bonds of each kind
        short = counts[:, self._req_columns] < self._req_needs
        failed = np.logical_or.reduceat(short, self._group_starts, axis=1)
        out[:, self._group_queries] &= ~failed


# ----------------------------------------------------------------------------- catalogs


@dataclass(frozen=True)
class Alert:
    """One structural alert matched in a molecule.

    Attributes
    ----------
    family : ``'PAINS'``, ``'Brenk'`` or ``'NIH'``.
    name : the catalog entry's description, e.g. ``'ene_rhod_A(235)'``.
    atoms : 0-based indices of the molecule's atoms in the first match.
    """

    family: str
    name: str
    atoms: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.family}:{self.name} [atoms {','.join(map(str, self.atoms))}]"


_PICKLE_MAGIC = b"\xef\xbe\xad\xde"  # the first bytes of every RDKit molecule pickle
_LENGTH_BEFORE = re.compile(rb" (\d+) $")


def _entry_query(entry: Any) -> Chem.Mol | None:
    """The query molecule of a FilterCatalog entry, read from its serialized form.

    RDKit exposes no accessor; the boost archive holds the pattern as a molecule pickle preceded
    by its length. Anything unexpected returns None, and the entry is then always matched in
    full (slower, never wrong).
    """
    try:
        blob = entry.Serialize()
        start = blob.find(_PICKLE_MAGIC)
        if start < 0:
            return None
        length = _LENGTH_BEFORE.search(blob[max(0, start - 24) : start])
        if length is None:
            return None
        with rdBase.BlockLogs():
            query = Chem.Mol(blob[start : start + int(length.group(1))])
    except Exception:  # noqa: BLE001 - any parse problem just disables the screen for the entry
        return None
    return query if query.GetNumAtoms() > 0 else None


class AlertMatcher:
    """The PAINS, Brenk and NIH catalogs, screened; build once per process (:func:`alert_matcher`).

    ``families`` chooses which families to match (default: all of :data:`ALERT_FAMILIES`).
    """

    def __init__(self, families: Sequence[str] = ALERT_FAMILIES) -> None:
        unknown = [f for f in families if f not in _CATALOGS]
        if unknown:
            raise ValueError(
                f"unknown alert family '{unknown[0]}'; choose from: {', '.join(ALERT_FAMILIES)}"
            )
        self.families = tuple(families)
        params = FilterCatalog.FilterCatalogParams
        self._entries: list[Any] = []
        self._family: list[str] = []
        for family in self.families:
            for catalog_name in _CATALOGS[family]:
                p = params()
                p.AddCatalog(getattr(params.FilterCatalogs, catalog_name))
                catalog = FilterCatalog.FilterCatalog(p)
                for i in range(catalog.GetNumEntries()):
                    self._entries.append(catalog.GetEntryWithIdx(i))
                    self._family.append(family)
        self._names = [e.GetDescription() for e in self._entries]
        #: each entry's query molecule (None where it could not be read: never screened out)
        self.queries: list[Chem.Mol | None] = [_entry_query(e) for e in self._entries]
        self.screen = SubstructureScreen(self.queries)

    def __len__(self) -> int:
        return len(self._entries)

    def match(
        self, mols: Sequence[Chem.Mol], candidates: np.ndarray | None = None
    ) -> list[list[Alert]]:
        """The alerts of each molecule, in catalog order (family, then entry).

        ``candidates`` is this matcher's screen of ``mols`` when the caller already computed it
        (a ``SubstructureScreen`` over :attr:`queries`, possibly with more queries after them).
        """
        if candidates is None:
            candidates = self.screen.candidates(mols)
        return [self._exact(mol, np.flatnonzero(row)) for mol, row in zip(mols, candidates)]

    def match_all(self, mol: Chem.Mol) -> list[Alert]:
        """The alerts of one molecule without the screen (every entry matched; for checks)."""
        return self._exact(mol, np.arange(len(self._entries)))

    def _exact(self, mol: Chem.Mol, indices: np.ndarray) -> list[Alert]:
        found: list[Alert] = []
        for j in indices:
            entry = self._entries[j]
            if entry.HasFilterMatch(mol):
                matches = entry.GetFilterMatches(mol)
                atoms = tuple(sorted(int(m) for _, m in matches[0].atomPairs)) if matches else ()
                found.append(Alert(self._family[j], self._names[j], atoms))
        return found


@lru_cache(maxsize=4)
def alert_matcher(families: tuple[str, ...] = ALERT_FAMILIES) -> AlertMatcher:
    """The process-wide :class:`AlertMatcher` for ``families`` (built on first use)."""
    return AlertMatcher(families)


def find_alerts(mol: Chem.Mol) -> list[Alert]:
    """PAINS, Brenk and NIH alerts of one molecule (see :class:`AlertMatcher`)."""
    return alert_matcher().match([mol])[0]


def format_alerts(alerts: Sequence[Alert]) -> str:
    """``'PAINS:ene_rhod_A(235) [atoms 1,2,3]; Brenk:Michael_acceptor_1 [atoms 4,5]'``."""
    return "; ".join(str(a) for a in alerts)


def count_families(alerts: Sequence[Alert], families: Sequence[str]) -> list[int]:
    """Number of alerts per family, in ``families`` order."""
    counts = dict.fromkeys(families, 0)
    for alert in alerts:
        counts[alert.family] += 1
    return [counts[f] for f in families]

