"""The 21 TDC ADMET endpoints of the shipped panel: every one loads, has its model card naming
the command that built it, and predicts well-known drugs in a sane range."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from drugforge.molecules.panel import PANEL_DIR, Panel, list_panel, panel_spec

#: the TDC ADMET data sets of ../shared/data/admet, named in lower case as profile columns
TDC = {
    "caco2_wang": "regression", "hia_hou": "classification", "pgp_broccatelli": "classification",
    "bioavailability_ma": "classification", "solubility_aqsoldb": "regression",
    "bbb_martins": "classification", "ppbr_az": "regression", "vdss_lombardo": "regression",
    "cyp2c9_veith": "classification", "cyp2d6_veith": "classification",
    "cyp3a4_veith": "classification", "cyp2c9_substrate_carbonmangels": "classification",
    "cyp2d6_substrate_carbonmangels": "classification",
    "cyp3a4_substrate_carbonmangels": "classification", "half_life_obach": "regression",
    "clearance_hepatocyte_az": "regression", "clearance_microsome_az": "regression",
    "ld50_zhu": "regression", "herg": "classification", "ames": "classification",
    "dili": "classification",
}  # fmt: skip

DRUGS = {
    "caffeine": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "chloroquine": "CCN(CC)CCCC(C)NC1=C2C=CC(=CC2=NC=C1)Cl",
    "terfenadine": "CC(C)(C)c1ccc(cc1)C(O)CCCN1CCC(CC1)C(O)(c1ccccc1)c1ccccc1",
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "ketoconazole": ("CC(=O)N1CCN(CC1)c1ccc(OC[C@H]2CO[C@@](Cn3ccnc3)(O2)c2ccc(Cl)cc2Cl)cc1"),
    "verapamil": "COc1ccc(CCN(C)CCCC(C#N)(C(C)C)c2ccc(OC)c(OC)c2)cc1OC",
    "2-aminoanthracene": "Nc1ccc2cc3ccccc3cc2c1",
    "1-nitropyrene": "O=[N+]([O-])c1ccc2ccc3cccc4ccc1c2c34",
    "diazepam": "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
    "glycerol": "OCC(O)CO",
    "anthracene": "c1ccc2cc3ccccc3cc2c1",
    "ethanol": "CCO",
    "parathion": "CCOP(=S)(OCC)Oc1ccc(cc1)[N+](=O)[O-]",
}  # fmt: skip


@pytest.fixture(scope="module")
def predictions() -> pd.DataFrame:
    missing = set(TDC) - {ep.name for ep in list_panel()}
    if missing:
        pytest.skip(f"TDC endpoints not shipped: {sorted(missing)}")
    panel = Panel.load(sorted(TDC))
    frame = panel.predict([Chem.MolFromSmiles(s) for s in DRUGS.values()])
    frame.index = list(DRUGS)
    return frame


def test_every_tdc_endpoint_is_shipped_with_its_card() -> None:
    eps = {ep.name: ep for ep in list_panel()}
    missing = set(TDC) - set(eps)
    if len(missing) == len(TDC):
        pytest.skip("no TDC endpoints shipped (python benchmarks/panel/train_panel.py)")
    assert not missing
    for name, task in TDC.items():
        ep = eps[name]
        assert ep.task == task
        spec = panel_spec(ep.path)
        command = " ".join(spec["command"])
        assert command.startswith("drugforge train") and "--split scaffold" in command
        card = (ep.path / "model_card.md").read_text()
        assert re.search(r"command: `drugforge train [^`]*admet/", card), name
        assert "--model auto" in card and "scaffold" in card
        assert "Chemprop" in card
        size = sum(p.stat().st_size for p in ep.path.rglob("*") if p.is_file())
        assert max(p.stat().st_size for p in ep.path.rglob("*") if p.is_file()) < 25 * 2**20
        assert size < 25 * 2**20


def test_predictions_are_in_range(predictions: pd.DataFrame) -> None:
    for name, task in TDC.items():
        values = predictions[name].to_numpy(float)
        assert np.isfinite(values).all(), name
        assert (predictions[f"{name}_std"].to_numpy(float) >= 0).all(), name
        if task == "classification":
            assert ((values >= 0) & (values <= 1)).all(), name
    assert ((predictions["ppbr_az"] > -5) & (predictions["ppbr_az"] < 105)).all()
    assert (predictions["caco2_wang"].between(-8, -3)).all()


def test_known_drugs_are_predicted_sanely(predictions: pd.DataFrame, admet_dir: Path) -> None:
    p = predictions
    # hERG: chloroquine and terfenadine are textbook blockers. Caffeine is not one (IC50 well
    # above 100 uM), but the shipped training file labels it a blocker (y = 1) in a set that is
    # 70% blockers (TDC's hERG has conflicting duplicate labels, resolved to the first one in
    # ../shared/data/admet), so no model fitted to that file can be asked for P < 0.5: it must
    # still rate caffeine below the file's share of blockers and far below the real blockers.
    herg = pd.read_csv(admet_dir / "hERG.csv")
    caffeine = Chem.MolToSmiles(Chem.MolFromSmiles(DRUGS["caffeine"]))
    labels = herg.y[[Chem.MolToSmiles(Chem.MolFromSmiles(s)) == caffeine for s in herg.smiles]]
    if labels.tolist() == [0]:  # a corrected file: then the plain statement must hold
        assert p.loc["caffeine", "herg"] < 0.5
    assert p.loc["caffeine", "herg"] < herg.y.mean()
    assert p.loc["caffeine", "herg"] < min(p.loc["chloroquine", "herg"],
                                           p.loc["terfenadine", "herg"]) - 0.15
    assert p.loc["chloroquine", "herg"] > 0.5 and p.loc["terfenadine", "herg"] > 0.5
    # Ames: aromatic amines and nitro-PAHs are mutagenic, aspirin and caffeine are not
    assert p.loc["2-aminoanthracene", "ames"] > 0.5 and p.loc["1-nitropyrene", "ames"] > 0.5
    assert p.loc["aspirin", "ames"] < 0.5 and p.loc["caffeine", "ames"] < 0.5
    # CYP3A4: ketoconazole is the reference inhibitor; caffeine is not one
    assert p.loc["ketoconazole", "cyp3a4_veith"] > 0.5 > p.loc["caffeine", "cyp3a4_veith"]
    # P-gp: verapamil is the classical inhibitor
    assert p.loc["verapamil", "pgp_broccatelli"] > 0.5 > p.loc["caffeine", "pgp_broccatelli"]
    # diazepam and caffeine reach the brain
    assert p.loc["diazepam", "bbb_martins"] > 0.5 and p.loc["caffeine", "bbb_martins"] > 0.5
    # solubility: glycerol is miscible, anthracene nearly insoluble (logS ~ -6.4)
    assert p.loc["glycerol", "solubility_aqsoldb"] > p.loc["anthracene", "solubility_aqsoldb"] + 3
    # acute toxicity: parathion (LD50 ~ 2-13 mg/kg) far above ethanol (~7 g/kg) in -log(mol/kg)
    assert p.loc["parathion", "ld50_zhu"] > p.loc["ethanol", "ld50_zhu"] + 1.5


def test_profile_has_the_tdc_columns_with_percentiles() -> None:
    if not (PANEL_DIR / "herg").is_dir():
        pytest.skip("TDC endpoints not shipped")
    from drugforge.molecules.profile import profile_frame

    frame = profile_frame(["CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "not a smiles"])
    for name in TDC:
        for column in (name, f"{name}_std", f"{name}_in_domain", f"{name}_pctl_drugs"):
            assert column in frame.columns, column
    assert frame.loc[0, "error"] == "" and frame.loc[1, "error"] != ""
    assert 0 <= frame.loc[0, "herg_pctl_drugs"] <= 100
