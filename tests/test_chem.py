"""chem: parsing, standardization and scaffolds, with exact expected values."""

from __future__ import annotations

import math

import pytest
from rdkit import Chem

from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.chem import (
    StandardizerConfig,
    murcko_scaffold,
    parse_smiles,
    parse_smiles_or_raise,
    standardize_many,
    standardize_smiles,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


# ----------------------------------------------------------------------------- parse


def test_parse_valid_smiles_returns_mol() -> None:
    mol = parse_smiles(ASPIRIN)
    assert mol is not None
    assert mol.GetNumHeavyAtoms() == 13


@pytest.mark.parametrize(
    "bad", ["C1CC", "", "   ", None, math.nan, "CCO ethanol", "c1ccccc", "[Xx]", 42]
)
def test_parse_invalid_returns_none(bad: object) -> None:
    assert parse_smiles(bad) is None  # type: ignore[arg-type]


def test_parse_strips_whitespace_and_accepts_cxsmiles() -> None:
    assert Chem.MolToSmiles(parse_smiles("  CCO\n")) == "CCO"
    assert parse_smiles("CCO |$A;B;C$|") is not None


def test_parse_is_silent(capfd: pytest.CaptureFixture[str]) -> None:
    assert parse_smiles("C1CC") is None
    assert parse_smiles("c1cccc1") is None  # kekulization error, normally logged by RDKit
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_parse_or_raise_names_file_and_line() -> None:
    with pytest.raises(InvalidSmilesError) as info:
        parse_smiles_or_raise("C1CC", path="data.csv", line=7)
    assert str(info.value) == "data.csv:7: invalid SMILES 'C1CC'"
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidSmilesError, match="empty SMILES"):
        parse_smiles_or_raise("")
    assert parse_smiles_or_raise("CCO").GetNumAtoms() == 3


# ----------------------------------------------------------------------------- standardize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[Na+].CC(=O)[O-]", "CC(=O)O"),  # salt stripped, acid neutralized
        ("C[NH3+].[Cl-]", "CN"),
        ("Cl.CCN", "CCN"),
        ("OCC", "CCO"),  # canonical
        ("C1=CC=CC=C1", "c1ccccc1"),  # aromatic form
        ("N[C@@H](C)C(=O)O", "C[C@H](N)C(=O)O"),  # stereo kept
        ("[NH3+]CC([O-])=O", "NCC(=O)O"),  # zwitterion neutralized
        ("C[N+](C)(C)C.[Cl-]", "C[N+](C)(C)C"),  # quaternary N keeps its charge
        ("  CCO  ", "CCO"),
    ],
)
def test_standardize_exact(raw: str, expected: str) -> None:
    assert standardize_smiles(raw) == (expected, "")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("C1CC", "invalid SMILES"),
        ("", "empty SMILES"),
        (None, "empty SMILES"),
        (math.nan, "empty SMILES"),
    ],
)
def test_standardize_errors(raw: object, error: str) -> None:
    assert standardize_smiles(raw) == (None, error)  # type: ignore[arg-type]


def test_standardize_heavy_atom_limit_message() -> None:
    config = StandardizerConfig(max_heavy_atoms=10)
    assert standardize_smiles("C" * 12, config) == (None, "molecule has 12 heavy atoms (limit 10)")
    assert standardize_smiles("C" * 10, config) == ("C" * 10, "")


def test_standardize_options_can_be_switched_off() -> None:
    keep_all = StandardizerConfig(largest_fragment=False, neutralize=False)
    assert standardize_smiles("[Na+].CC(=O)[O-]", keep_all) == ("CC(=O)[O-].[Na+]", "")
    charged = StandardizerConfig(neutralize=False)
    assert standardize_smiles("[Na+].CC(=O)[O-]", charged) == ("CC(=O)[O-]", "")
    assert standardize_smiles("OCC", StandardizerConfig(canonical=False)) == ("OCC", "")


def test_standardize_never_emits_unreadable_smiles() -> None:
    # RDKit's Uncharger turns the cyclopentadienyl anion into the impossible 'c1cccc1'
    out, error = standardize_smiles("[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1")
    assert error == ""
    assert out == "c1cc[cH-]c1"
    assert parse_smiles(out) is not None


def test_standardizer_config_round_trip() -> None:
    config = StandardizerConfig(largest_fragment=False, max_heavy_atoms=300)
    data = config.to_dict()
    assert data == {
        "largest_fragment": False,
        "neutralize": True,
        "canonical": True,
        "max_heavy_atoms": 300,
    }
    assert StandardizerConfig.from_dict(data) == config
    assert StandardizerConfig.from_dict(None) == StandardizerConfig()
    with pytest.raises(ValueError, match="unknown standardizer option"):
        StandardizerConfig.from_dict({"neutralise": True})
    with pytest.raises(ValueError, match="max_heavy_atoms"):
        StandardizerConfig(max_heavy_atoms=0)


def test_standardize_many_keeps_order_and_reports_errors() -> None:
    smiles, errors = standardize_many(["OCC", "C1CC", "", "OCC", "[Na+].CC(=O)[O-]", None])
    assert smiles == ["CCO", None, None, "CCO", "CC(=O)O", None]
    assert errors == ["", "invalid SMILES", "empty SMILES", "", "", "empty SMILES"]


# ----------------------------------------------------------------------------- scaffolds


@pytest.mark.parametrize(
    ("smiles", "scaffold", "generic"),
    [
        (ASPIRIN, "c1ccccc1", "C1CCCCC1"),
        ("CCO", "", ""),
        ("CC(C)CC(=O)O", "", ""),
        ("C1CC1CC(=O)O", "C1CC1", "C1CC1"),
        ("O=C1CCCCC1", "O=C1CCCCC1", "C1CCCCC1"),  # exocyclic double bond kept
        ("c1ccc2ccccc2c1CCN", "c1ccc2ccccc2c1", "C1CCC2CCCCC2C1"),
        ("CCc1ccncc1CCc1ccccc1", "c1ccc(CCc2cccnc2)cc1", "C1CCC(CCC2CCCCC2)CC1"),
        ("O=C(O)C[C@H]1CC[C@@H](c2ccccc2)CC1", "c1ccc(C2CCCCC2)cc1", "C1CCC(C2CCCCC2)CC1"),
    ],
)
def test_murcko_scaffold_exact(smiles: str, scaffold: str, generic: str) -> None:
    assert murcko_scaffold(smiles) == scaffold
    assert murcko_scaffold(smiles, generic=True) == generic


def test_murcko_scaffold_accepts_mols_even_unsanitized() -> None:
    assert murcko_scaffold(Chem.MolFromSmiles(ASPIRIN)) == "c1ccccc1"
    raw = Chem.MolFromSmiles("c1ccccc1CC", sanitize=False)
    assert murcko_scaffold(raw) == "c1ccccc1"


def test_murcko_scaffold_chirality_option() -> None:
    smiles = "C[C@H]1CC[C@@H](c2ccccc2)CC1"
    assert murcko_scaffold(smiles) == "c1ccc(C2CCCCC2)cc1"
    assert murcko_scaffold("c1ccccc1[C@@H]1CCCCO1") == "c1ccc(C2CCCCO2)cc1"
    assert murcko_scaffold("c1ccccc1[C@@H]1CCCCO1", include_chirality=True) == (
        "c1ccc([C@@H]2CCCCO2)cc1"
    )


def test_murcko_scaffold_invalid_smiles_raises() -> None:
    with pytest.raises(InvalidSmilesError):
        murcko_scaffold("C1CC")


def test_non_ascii_text_is_not_a_molecule() -> None:
    # RDKit alone reads this mis-decoded byte-order mark + ethanol as ethanol
    from drugforge.molecules.chem import parse_smiles, standardize_smiles

    assert parse_smiles("\xff\xfeCCO") is None
    assert standardize_smiles("\xff\xfeCCO")[0] is None
    assert parse_smiles("CCO") is not None
