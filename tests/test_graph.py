"""Molecular graphs: exact atom/bond features, directed-bond bookkeeping, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem

from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.featurize.graph import (
    ATOM_DIM,
    ATOM_FEATURE_SLICES,
    BOND_DIM,
    BOND_FEATURE_SLICES,
    MolGraph,
    batch_graphs,
    mol_to_graph,
    mols_to_graphs,
)

A = ATOM_FEATURE_SLICES
B = BOND_FEATURE_SLICES

SMILES = [
    "CCO",
    "C",
    "c1ccccc1",
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "C/C=C/C",
    "C[C@H](N)O",
    "OC1CCC(CC1)N(C)C#N",
    "C[N+](C)(C)C",
]


def graph(smiles: str) -> MolGraph:
    return mol_to_graph(Chem.MolFromSmiles(smiles))


def test_dimensions() -> None:
    assert ATOM_DIM == 49
    assert BOND_DIM == 14
    assert A["mass"].stop == ATOM_DIM and B["stereo"].stop == BOND_DIM


def test_ethanol_structure() -> None:
    g = graph("CCO")
    assert g.n_atoms == 3
    assert g.n_edges == 4  # two bonds, each in both directions
    assert g.V.shape == (3, ATOM_DIM) and g.V.dtype == np.float32
    assert g.E.shape == (4, BOND_DIM) and g.E.dtype == np.float32
    np.testing.assert_array_equal(g.edge_index, [[0, 1, 1, 2], [1, 0, 2, 1]])
    np.testing.assert_array_equal(g.rev_edge, [1, 0, 3, 2])


def test_methyl_carbon_features_exact() -> None:
    V = graph("CCO").V
    # C: element 2 (H, B, C, ...), total degree 4, charge 0, no chirality, 3 Hs, SP3
    expected = [
        A["element"].start + 2,
        A["degree"].start + 4,
        A["formal_charge"].start + 2,
        A["chiral_tag"].start + 0,
        A["num_hs"].start + 3,
        A["hybridization"].start + 4,
        A["mass"].start,
    ]
    assert expected == [2, 19, 24, 28, 36, 43, 48]
    np.testing.assert_array_equal(np.flatnonzero(V[0]), expected)
    assert V[0, A["mass"].start] == pytest.approx(0.12011, abs=1e-5)
    # O: element 4, total degree 2, one H
    assert V[2, A["element"].start + 4] == 1.0
    assert V[2, A["degree"].start + 2] == 1.0
    assert V[2, A["num_hs"].start + 1] == 1.0


def test_aromatic_bond_and_atom() -> None:
    g = graph("c1ccccc1")
    assert g.n_edges == 12
    # aromatic bond type, conjugated, in ring, no stereo
    expected = [
        B["bond_type"].start + 3,
        B["conjugated"].start,
        B["in_ring"].start,
        B["stereo"].start,
    ]
    for row in g.E:
        np.testing.assert_array_equal(np.flatnonzero(row), expected)
    assert (g.V[:, A["aromatic"].start] == 1.0).all()
    assert (g.V[:, A["hybridization"].start + 2] == 1.0).all()  # SP2


def test_other_slots_charge_stereo_chirality() -> None:
    tin = graph("C[Sn](C)(C)C").V[1]
    assert tin[A["element"].stop - 1] == 1.0  # Sn is not a listed element: "other"
    assert tin[A["element"].start : A["element"].stop - 1].sum() == 0.0
    nitrogen = graph("C[N+](C)(C)C").V[1]
    assert nitrogen[A["formal_charge"].start + 3] == 1.0  # +1
    double = graph("C/C=C/C").E[2]  # bond 1 (C=C), first direction
    assert double[B["bond_type"].start + 1] == 1.0
    assert double[B["stereo"].start + 3] == 1.0  # STEREOE
    chiral = graph("C[C@H](N)O").V[1]
    assert chiral[A["chiral_tag"].start + 1 : A["chiral_tag"].start + 3].sum() == 1.0


@pytest.mark.parametrize("smiles", SMILES)
def test_rev_edge_maps_each_directed_bond_to_its_reverse(smiles: str) -> None:
    g = graph(smiles)
    rev = g.rev_edge
    np.testing.assert_array_equal(rev[rev], np.arange(g.n_edges))  # an involution
    np.testing.assert_array_equal(g.edge_index[:, rev], g.edge_index[::-1])  # v->w becomes w->v
    np.testing.assert_array_equal(g.E[rev], g.E)  # both directions share the bond features
    assert (rev != np.arange(g.n_edges)).all()


def test_single_atom_has_no_bonds() -> None:
    g = graph("C")
    assert (g.n_atoms, g.n_edges) == (1, 0)
    assert g.E.shape == (0, BOND_DIM) and g.edge_index.shape == (2, 0)


def test_batch_graphs_offsets() -> None:
    graphs = [graph("CCO"), graph("C"), graph("c1ccccc1")]
    bmg = batch_graphs(graphs)
    assert bmg.n_graphs == 3
    assert bmg.V.shape == (10, ATOM_DIM) and bmg.E.shape == (16, BOND_DIM)
    assert bmg.V.dtype == torch.float32 and bmg.edge_index.dtype == torch.long
    assert bmg.batch.tolist() == [0, 0, 0, 1] + [2] * 6
    # benzene's atoms start at 4, its directed bonds at 4
    np.testing.assert_array_equal(bmg.edge_index[:, 4:].numpy(), graphs[2].edge_index + 4)
    np.testing.assert_array_equal(bmg.rev_edge[4:].numpy(), graphs[2].rev_edge + 4)
    ei, rev = bmg.edge_index, bmg.rev_edge
    assert torch.equal(ei[:, rev], ei.flip(0))
    # every directed bond stays inside its molecule
    assert torch.equal(bmg.batch[ei[0]], bmg.batch[ei[1]])
    moved = bmg.to("cpu")
    assert torch.equal(moved.V, bmg.V) and moved.n_graphs == 3


def test_batch_graphs_rejects_empty_list() -> None:
    with pytest.raises(ValueError):
        batch_graphs([])


def test_mols_to_graphs_accepts_smiles_and_mols_and_names_bad_position() -> None:
    graphs = mols_to_graphs(["CCO", Chem.MolFromSmiles("c1ccccc1")])
    assert [g.n_atoms for g in graphs] == [3, 6]
    with pytest.raises(InvalidSmilesError, match="position 2"):
        mols_to_graphs(["CCO", "C1CC", "CC"])
    with pytest.raises(InvalidSmilesError, match="position 1"):
        mols_to_graphs([""])
