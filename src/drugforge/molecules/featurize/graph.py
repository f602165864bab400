"""Molecular graphs for message-passing networks (chemprop v2-style atom and bond features).

A molecule becomes a :class:`MolGraph`: one row of atom features per heavy atom (explicit H
atoms in the input are kept as atoms) and two *directed* bonds per chemical bond. Directed bond
``2i`` runs ``begin -> end`` of RDKit bond ``i`` and ``2i + 1`` runs back, so ``rev_edge`` (the
index of the reverse of each directed bond) is ``[1, 0, 3, 2, ...]``.

:func:`batch_graphs` concatenates graphs into one :class:`BatchMolGraph` whose ``batch`` vector
names the molecule of every atom, so a network handles a whole batch with index operations.

Atom features (``ATOM_DIM`` = 49), each one-hot block ends with an "other" slot:
atomic number (14 common elements + other), total degree 0-5, formal charge -2..+2, chiral tag,
total number of Hs 0-4, hybridization, aromatic flag, mass / 100.
Bond features (``BOND_DIM`` = 14): bond type (single, double, triple, aromatic + other),
conjugated, in ring, stereo (6 RDKit stereo labels + other).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem
from torch import Tensor

from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.featurize.base import mol_from_smiles

__all__ = [
    "ATOM_DIM",
    "ATOM_FEATURE_SLICES",
    "BOND_DIM",
    "BOND_FEATURE_SLICES",
    "BatchMolGraph",
    "MolGraph",
    "batch_graphs",
    "mol_to_graph",
    "mols_to_graphs",
]

# ----------------------------------------------------------------------- feature vocabularies
#: H, B, C, N, O, F, Si, P, S, Cl, As, Se, Br, I cover almost every drug-like heavy atom
ELEMENTS: tuple[int, ...] = (1, 5, 6, 7, 8, 9, 14, 15, 16, 17, 33, 34, 35, 53)
DEGREES: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
FORMAL_CHARGES: tuple[int, ...] = (-2, -1, 0, 1, 2)
CHIRAL_TAGS: tuple[Chem.ChiralType, ...] = (
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
    Chem.ChiralType.CHI_OTHER,
)
NUM_HS: tuple[int, ...] = (0, 1, 2, 3, 4)
HYBRIDIZATIONS: tuple[Chem.HybridizationType, ...] = (
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP2D,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
BOND_TYPES: tuple[Chem.BondType, ...] = (
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
    Chem.BondType.AROMATIC,
)
BOND_STEREOS: tuple[Chem.BondStereo, ...] = (
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOANY,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
)


def _slices(sizes: dict[str, int]) -> dict[str, slice]:
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = slice(start, start + size)
        start += size
    return out


#: where each atom feature block lives in a row of ``MolGraph.V`` (one-hot blocks include "other")
ATOM_FEATURE_SLICES: dict[str, slice] = _slices(
    {
        "element": len(ELEMENTS) + 1,
        "degree": len(DEGREES) + 1,
        "formal_charge": len(FORMAL_CHARGES) + 1,
        "chiral_tag": len(CHIRAL_TAGS) + 1,
        "num_hs": len(NUM_HS) + 1,
        "hybridization": len(HYBRIDIZATIONS) + 1,
        "aromatic": 1,
        "mass": 1,
    }
)
#: where each bond feature block lives in a row of ``MolGraph.E``
BOND_FEATURE_SLICES: dict[str, slice] = _slices(
    {
        "bond_type": len(BOND_TYPES) + 1,
        "conjugated": 1,
        "in_ring": 1,
        "stereo": len(BOND_STEREOS) + 1,
    }
)
ATOM_DIM: int = ATOM_FEATURE_SLICES["mass"].stop  # 49
BOND_DIM: int = BOND_FEATURE_SLICES["stereo"].stop  # 14


def _one_hot_index(block: slice, choices: Sequence[object], value: object) -> int:
    """Column of ``value`` inside ``block``; the block's last column means "other"."""
    try:
        return block.start + choices.index(value)
    except ValueError:
        return block.stop - 1


def atom_features(atom: Chem.Atom) -> np.ndarray:
    """The ``(ATOM_DIM,)`` float32 feature row of one atom."""
    s = ATOM_FEATURE_SLICES
    row = np.zeros(ATOM_DIM, dtype=np.float32)
    row[_one_hot_index(s["element"], ELEMENTS, atom.GetAtomicNum())] = 1.0
    row[_one_hot_index(s["degree"], DEGREES, atom.GetTotalDegree())] = 1.0
    row[_one_hot_index(s["formal_charge"], FORMAL_CHARGES, atom.GetFormalCharge())] = 1.0
    row[_one_hot_index(s["chiral_tag"], CHIRAL_TAGS, atom.GetChiralTag())] = 1.0
    row[_one_hot_index(s["num_hs"], NUM_HS, atom.GetTotalNumHs())] = 1.0
    row[_one_hot_index(s["hybridization"], HYBRIDIZATIONS, atom.GetHybridization())] = 1.0
    row[s["aromatic"].start] = float(atom.GetIsAromatic())
    row[s["mass"].start] = 0.01 * atom.GetMass()  # ~0.12 for C, ~1.27 for I: same scale as one-hots
    return row


def bond_features(bond: Chem.Bond) -> np.ndarray:
    """The ``(BOND_DIM,)`` float32 feature row of one bond (shared by both directions)."""
    s = BOND_FEATURE_SLICES
    row = np.zeros(BOND_DIM, dtype=np.float32)
    row[_one_hot_index(s["bond_type"], BOND_TYPES, bond.GetBondType())] = 1.0
    row[s["conjugated"].start] = float(bond.GetIsConjugated())
    row[s["in_ring"].start] = float(bond.IsInRing())
    row[_one_hot_index(s["stereo"], BOND_STEREOS, bond.GetStereo())] = 1.0
    return row


# ----------------------------------------------------------------------------- graph types
@dataclass
class MolGraph:
    """One molecule as a directed graph (numpy, so it is cheap to build and to pickle)."""

    V: np.ndarray  # (n_atoms, ATOM_DIM) float32 atom features
    E: np.ndarray  # (n_edges, BOND_DIM) float32 features of each directed bond
    edge_index: np.ndarray  # (2, n_edges) int64: row 0 source atom, row 1 target atom
    rev_edge: np.ndarray  # (n_edges,) int64: index of the reverse directed bond

    @property
    def n_atoms(self) -> int:
        return int(self.V.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.E.shape[0])


@dataclass
class BatchMolGraph:
    """Several :class:`MolGraph` concatenated; indices are offset into the concatenation."""

    V: Tensor  # (N, ATOM_DIM) float32, N = total atoms
    E: Tensor  # (M, BOND_DIM) float32, M = total directed bonds
    edge_index: Tensor  # (2, M) long
    rev_edge: Tensor  # (M,) long
    batch: Tensor  # (N,) long: molecule index of every atom
    n_graphs: int

    def to(self, device: torch.device | str) -> BatchMolGraph:
        return BatchMolGraph(
            V=self.V.to(device),
            E=self.E.to(device),
            edge_index=self.edge_index.to(device),
            rev_edge=self.rev_edge.to(device),
            batch=self.batch.to(device),
            n_graphs=self.n_graphs,
        )


def mol_to_graph(mol: Chem.Mol) -> MolGraph:
    """Featurize an RDKit molecule as a :class:`MolGraph` (atoms as given, Hs usually implicit)."""
    V = np.zeros((mol.GetNumAtoms(), ATOM_DIM), dtype=np.float32)
    for atom in mol.GetAtoms():
        V[atom.GetIdx()] = atom_features(atom)
    n_bonds = mol.GetNumBonds()
    E = np.zeros((2 * n_bonds, BOND_DIM), dtype=np.float32)
    edge_index = np.zeros((2, 2 * n_bonds), dtype=np.int64)
    for bond in mol.GetBonds():
        i, a, b = bond.GetIdx(), bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        E[2 * i] = E[2 * i + 1] = bond_features(bond)
        edge_index[:, 2 * i] = (a, b)
        edge_index[:, 2 * i + 1] = (b, a)
    rev_edge = np.arange(2 * n_bonds, dtype=np.int64) ^ 1  # 0<->1, 2<->3, ...
    return MolGraph(V=V, E=E, edge_index=edge_index, rev_edge=rev_edge)


def mols_to_graphs(mols_or_smiles: Sequence[str | Chem.Mol]) -> list[MolGraph]:
    """Graphs of many molecules; an invalid entry raises naming its 1-based position.

    The same bad-molecule policy as :func:`drugforge.molecules.featurize.featurize`: nothing is silently
    turned into an empty graph.
    """
    graphs: list[MolGraph] = []
    for pos, item in enumerate(mols_or_smiles, start=1):
        mol = item if isinstance(item, Chem.Mol) else mol_from_smiles(item)
        if mol is None or mol.GetNumAtoms() == 0:
            what = f"SMILES {item!r}" if isinstance(item, str) else "an empty molecule"
            raise InvalidSmilesError(f"invalid {what} at position {pos}")
        graphs.append(mol_to_graph(mol))
    return graphs


def batch_graphs(graphs: Sequence[MolGraph]) -> BatchMolGraph:
    """Concatenate ``graphs`` into one :class:`BatchMolGraph` with offset indices."""
    if len(graphs) == 0:
        raise ValueError("batch_graphs needs at least one graph")
    n_atoms = np.array([g.n_atoms for g in graphs], dtype=np.int64)  # (B,)
    n_edges = np.array([g.n_edges for g in graphs], dtype=np.int64)  # (B,)
    atom_offset = np.cumsum(n_atoms) - n_atoms  # first atom of each graph in the batch
    edge_offset = np.cumsum(n_edges) - n_edges  # first directed bond of each graph
    edge_index = np.concatenate(
        [g.edge_index + off for g, off in zip(graphs, atom_offset, strict=True)], axis=1
    )  # (2, M)
    rev_edge = np.concatenate(
        [g.rev_edge + off for g, off in zip(graphs, edge_offset, strict=True)]
    )  # (M,)
    return BatchMolGraph(
        V=torch.from_numpy(np.concatenate([g.V for g in graphs], axis=0)),  # (N, ATOM_DIM)
        E=torch.from_numpy(np.concatenate([g.E for g in graphs], axis=0)),  # (M, BOND_DIM)
        edge_index=torch.from_numpy(edge_index),
        rev_edge=torch.from_numpy(rev_edge),
        batch=torch.from_numpy(np.repeat(np.arange(len(graphs), dtype=np.int64), n_atoms)),
        n_graphs=len(graphs),
    )
