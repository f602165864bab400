"""The shipped endpoint panel of ``drugforge profile``: loading, predictions, AD, round trips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from drugforge.core.artifacts import load_model, save_model
from drugforge.core.errors import ArtifactError, InputError
from drugforge.molecules.panel import (
    PANEL_DIR,
    Panel,
    ad_bits,
    list_panel,
    max_similarity,
    pack_bits,
)

EXPECTED = {
    *(f"tox21_{t}" for t in ("NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER",
                             "NR-ER-LBD", "NR-PPAR-gamma", "SR-ARE", "SR-ATAD5", "SR-HSE",
                             "SR-MMP", "SR-p53")),
    "bbbp", "esol_logS", "freesolv_dG",
    # the 21 TDC ADMET endpoints (issue 14), named after their TDC data set in lower case
    "caco2_wang", "hia_hou", "pgp_broccatelli", "bioavailability_ma", "solubility_aqsoldb",
    "bbb_martins", "ppbr_az", "vdss_lombardo", "cyp2c9_veith", "cyp2d6_veith", "cyp3a4_veith",
    "cyp2c9_substrate_carbonmangels", "cyp2d6_substrate_carbonmangels",
    "cyp3a4_substrate_carbonmangels", "half_life_obach", "clearance_hepatocyte_az",
    "clearance_microsome_az", "ld50_zhu", "herg", "ames", "dili",
}  # fmt: skip
REGRESSION = {"esol_logS", "freesolv_dG", "caco2_wang", "solubility_aqsoldb", "ppbr_az",
              "vdss_lombardo", "half_life_obach", "clearance_hepatocyte_az",
              "clearance_microsome_az", "ld50_zhu"}  # fmt: skip


@pytest.fixture(scope="module")
def panel() -> Panel:
    if not list_panel():
        pytest.skip("no panel models shipped (python benchmarks/panel/train_panel.py)")
    return Panel.load()


def _mols(smiles: list[str]) -> list[Chem.Mol]:
    return [Chem.MolFromSmiles(s) for s in smiles]


def _train_smiles(group: str) -> list[str]:
    split = json.loads((PANEL_DIR / group / "model" / "split.json").read_text())
    return list(split["smiles"]["train"])


def test_list_panel_has_the_36_endpoints() -> None:
    eps = list_panel()
    if not eps:
        pytest.skip("no panel models shipped")
    assert {ep.name for ep in eps} == EXPECTED
    tasks = {ep.name: ep.task for ep in eps}
    assert tasks["esol_logS"] == tasks["freesolv_dG"] == "regression"
    assert tasks["bbbp"] == tasks["tox21_SR-p53"] == "classification"
    for ep in eps:
        assert (ep.path / "model_card.md").is_file()
        assert ep.units and ep.description


def test_list_panel_empty_folder(tmp_path: Path) -> None:
    assert list_panel(tmp_path) == []
    assert Panel.load(root=tmp_path).columns == []


def test_columns_and_order(panel: Panel) -> None:
    assert len(panel.columns) == 4 * len(EXPECTED)
    smiles = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "CCCCCCCCCCCCCCCCCC"]
    frame = panel.predict(_mols(smiles))
    assert list(frame.columns) == panel.columns
    assert len(frame) == 4
    # order kept: predicting the reversed list gives the reversed rows
    rev = panel.predict(_mols(smiles[::-1]))
    np.testing.assert_allclose(rev["esol_logS"].to_numpy()[::-1], frame["esol_logS"].to_numpy())
    np.testing.assert_allclose(rev["bbbp_ad_similarity"].to_numpy()[::-1],
                               frame["bbbp_ad_similarity"].to_numpy())  # fmt: skip
    assert frame["esol_logS_in_domain"].dtype == bool


def test_predictions_are_sensible(panel: Panel) -> None:
    # small polar molecules dissolve far better than a long alkane or a big PAH
    frame = panel.predict(_mols(["OCC(O)CO", "CCO", "CCCCCCCCCCCCCCCCCC", "c1ccc2cc3cc4ccccc4cc3cc2c1"]))
    logs = frame["esol_logS"].to_numpy()
    assert min(logs[:2]) > max(logs[2:]) + 2.0
    # glycerol is much more favourably hydrated (more negative dG) than octadecane
    dg = frame["freesolv_dG"].to_numpy()
    assert dg[0] < dg[2] - 3.0
    for ep in EXPECTED:
        col = frame[ep].to_numpy()
        std = frame[f"{ep}_std"].to_numpy()
        assert np.isfinite(col).all()
        assert (std >= 0).all() and np.isfinite(std).all()
        sim = frame[f"{ep}_ad_similarity"].to_numpy()
        assert ((sim >= 0) & (sim <= 1)).all()
    for ep in EXPECTED - REGRESSION:
        p = frame[ep].to_numpy()
        assert ((p >= 0) & (p <= 1)).all()


def test_training_molecule_is_in_domain(panel: Panel) -> None:
    for group, ep in (("esol", "esol_logS"), ("tox21", "tox21_SR-p53"), ("bbbp", "bbbp")):
        smi = _train_smiles(group)[:3]
        frame = panel.predict(_mols(smi))
        np.testing.assert_allclose(frame[f"{ep}_ad_similarity"].to_numpy(), 1.0)
        assert frame[f"{ep}_in_domain"].all()
    # something unlike any training molecule is out of domain
    odd = panel.predict(_mols(["[Si](C)(C)(C)[Si](C)(C)[Si](C)(C)C"]))
    assert not odd["esol_logS_in_domain"].iloc[0]
    assert odd["esol_logS_ad_similarity"].iloc[0] < 0.3


def test_similarity_matches_brute_force(panel: Panel) -> None:
    train = _train_smiles("freesolv")
    queries = ["CCOC(=O)C", "c1ccc(Cl)cc1", "CC(C)CO", "OC1CCCCC1"]
    frame = panel.predict(_mols(queries))
    ref = ad_bits(train)
    q = ad_bits(queries)
    inter = (q[:, None, :] & ref[None, :, :]).sum(-1)
    union = (q[:, None, :] | ref[None, :, :]).sum(-1)
    expected = (inter / union).max(axis=1)
    np.testing.assert_allclose(frame["freesolv_dG_ad_similarity"].to_numpy(), expected, rtol=1e-6)
    packed = max_similarity(pack_bits(q), [pack_bits(ref)])[0]
    np.testing.assert_allclose(packed, expected, rtol=1e-6)


def test_similarity_search_matches_brute_force_on_random_sets() -> None:
    """Overlapping sets, many equal bit counts (the search keeps one maximum per set and bit
    count), and queries beyond 255 bits (the uint8 sums would wrap there)."""
    rng = np.random.default_rng(0)
    refs = [rng.random((n, 2048)) < rng.uniform(0.005, 0.2, (n, 1)) for n in (40, 25, 60)]
    refs[1][:10] = refs[0][:10]  # shared molecules
    refs[2][:5] = refs[0][20:25]
    query = rng.random((300, 2048)) < rng.uniform(0.005, 0.3, (300, 1))
    assert query.sum(axis=1).max() > 255
    sims = max_similarity(pack_bits(query), [pack_bits(r) for r in refs])
    for k, ref in enumerate(refs):
        inter = (query[:, None, :] & ref[None]).sum(-1)
        union = np.maximum((query[:, None, :] | ref[None]).sum(-1), 1)
        np.testing.assert_allclose(sims[k], (inter / union).max(axis=1), rtol=1e-6)


def test_invalid_molecules_keep_their_rows(panel: Panel) -> None:
    frame = panel.predict([Chem.MolFromSmiles("CCO"), None, Chem.Mol(), Chem.MolFromSmiles("CCN")])
    assert len(frame) == 4
    assert frame["esol_logS"].isna().tolist() == [False, True, True, False]
    assert not frame["esol_logS_in_domain"].iloc[1]
    assert frame.loc[[0, 3], "bbbp"].notna().all()


def test_matches_the_models_own_predictions(panel: Panel) -> None:
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    frame = panel.predict(_mols(smiles))
    loaded = load_model(PANEL_DIR / "tox21" / "model")
    own = loaded.model.predict(smiles)
    j = loaded.target_names.index("SR-p53")
    np.testing.assert_allclose(frame["tox21_SR-p53"].to_numpy(), own[:, j], rtol=1e-6)


def test_load_subset_and_unknown_name() -> None:
    if not list_panel():
        pytest.skip("no panel models shipped")
    sub = Panel.load(["esol_logS", "tox21_NR-AR"])
    # groups in folder order (esol before tox21), four columns per endpoint
    assert sub.columns == [
        "esol_logS", "esol_logS_std", "esol_logS_ad_similarity", "esol_logS_in_domain",
        "tox21_NR-AR", "tox21_NR-AR_std", "tox21_NR-AR_ad_similarity", "tox21_NR-AR_in_domain",
    ]  # fmt: skip
    with pytest.raises(InputError, match="unknown panel endpoint"):
        Panel.load(["esol_logs"])


def test_round_trip_and_tamper_detection(panel: Panel, tmp_path: Path) -> None:
    # a panel model re-saved and re-loaded predicts identically
    src = PANEL_DIR / "esol"
    loaded = load_model(src / "model")
    copy = tmp_path / "panel" / "esol"
    copy.mkdir(parents=True)
    save_model(copy / "model", loaded.model, task=loaded.task, target_names=loaded.target_names,
               standardizer=loaded.standardizer, data_hash=loaded.manifest["data_hash"],
               uncertainty=loaded.uncertainty)  # fmt: skip
    for name in ("panel.json", "ad_train.safetensors", "model_card.md"):
        shutil.copyfile(src / name, copy / name)
    smiles = ["CCO", "CCCCCCCC", "c1ccccc1C(=O)O"]
    again = Panel.load(root=tmp_path / "panel").predict(_mols(smiles))
    first = panel.predict(_mols(smiles))
    for col in again.columns:
        np.testing.assert_array_equal(again[col].to_numpy(), first[col].to_numpy())
    # a modified AD file is refused
    data = bytearray((copy / "ad_train.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "ad_train.safetensors").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="modified"):
        Panel.load(root=tmp_path / "panel")


def test_ad_counts_equal_ad_bits(panel: Panel) -> None:
    # the panel derives the AD bits from the models' count ECFP4: same bits as the AD fingerprint
    from drugforge.molecules.featurize import get_featurizer

    f = get_featurizer("ecfp", radius=2, size=2048, counts=True)
    smiles = ["CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "O=C1NC(=O)c2ccccc21"]
    counts = np.stack([f(m) for m in _mols(smiles)])
    np.testing.assert_array_equal(counts > 0, ad_bits(smiles))


def test_rdkit2d_named_subset() -> None:
    # the panel's cheap descriptors: a subset in the given order, same values as the full list
    from drugforge.molecules.featurize import get_featurizer

    sub = get_featurizer("rdkit2d", names=["TPSA", "MolWt"])
    full = get_featurizer("rdkit2d")
    assert len(sub) == 2 and sub.feature_names() == ["TPSA", "MolWt"]
    assert sub.params() == {"names": ["TPSA", "MolWt"]} and full.params() == {}
    mol = Chem.MolFromSmiles("CCO")
    x = sub(mol)
    np.testing.assert_allclose(x, [np.log1p(20.23), np.log1p(46.069)], rtol=1e-4)
    names = full.feature_names()
    np.testing.assert_array_equal(x, full(mol)[[names.index("TPSA"), names.index("MolWt")]])
    with pytest.raises(ValueError, match="unknown RDKit descriptor"):
        get_featurizer("rdkit2d", names=["MolWeight"])


def test_gbm_sparse_features_equal_dense() -> None:
    import scipy.sparse as sp

    if not (PANEL_DIR / "esol").is_dir():
        pytest.skip("no panel models shipped")
    model = load_model(PANEL_DIR / "esol" / "model").model
    from drugforge.molecules.featurize import featurize_many

    X = featurize_many(model.featurizers_, ["CCO", "c1ccccc1N", "CCCCCCCCCl"])
    dense = model.predict_from_features(X)
    np.testing.assert_allclose(model.predict_from_features(sp.csr_matrix(X)), dense, rtol=1e-9)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_kernel_models_and_ensembles_predict_from_shared_features(task: str) -> None:
    """svm, gp and an ensemble of them with gbm take the features a panel computed once and
    give exactly what they give from SMILES (so the panel can share featurization)."""
    import scipy.sparse as sp

    from drugforge.molecules.featurize import featurize_many
    from drugforge.molecules.models import build_model

    rng = np.random.default_rng(0)
    smiles = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1O", "c1ccccc1N", "CC(=O)O",
              "CCN(CC)CC", "c1ccncc1", "OCC(O)CO", "CCCCCCCC", "c1ccc2ccccc2c1", "CC(C)O",
              "CCOC(=O)C", "ClCCl", "c1ccc(Cl)cc1", "NCCO", "CC#N", "C1CCCCC1", "O=C1CCCCC1"]
    y = rng.normal(size=len(smiles)) if task == "regression" else np.arange(len(smiles)) % 2
    query = ["CCCCCO", "c1ccccc1C", "CC(=O)N", "C1CCNCC1"]
    for name, params in (("svm", {}), ("gp", {}),
                         ("ensemble", {"members": ["gbm", "svm"],
                                       "member_params": {"gbm": {"n_estimators": 20}}})):
        model = build_model(name, task, **params).fit(smiles, y)
        feats = model.input_featurizers()
        assert feats, name
        F = np.hstack([featurize_many([f], query) for f in feats])
        mean, std = model.predict_dist(query)
        got_mean, got_std = model.predict_dist_features(F)
        np.testing.assert_allclose(got_mean, mean, rtol=1e-6, atol=1e-9)
        if std is not None:
            np.testing.assert_allclose(got_std, std, rtol=1e-6, atol=1e-9)
        if name == "ensemble":  # a sparse matrix (the panel's tree input) gives the same
            np.testing.assert_allclose(model.predict_dist_features(sp.csr_matrix(F))[0], mean,
                                       rtol=1e-6, atol=1e-9)
            with pytest.raises(ValueError, match="feature columns"):
                model.predict_dist_features(np.hstack([F, F[:, :1]]))


def test_ad_file_as_on_bit_indices(tmp_path: Path) -> None:
    """Format 2 stores each training molecule's on-bits; it loads to the same packed rows as
    format 1, the similarity search gives the same values, and a bad file is refused."""
    from safetensors.numpy import save_file

    from drugforge.molecules.panel import ad_file_arrays, load_ad_packed

    smiles = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "CCO"]
    bits = ad_bits(smiles)
    arrays = ad_file_arrays(bits)
    assert arrays["indices"].dtype == np.uint16 and len(arrays["indptr"]) == len(smiles) + 1
    save_file(arrays, str(tmp_path / "ad.safetensors"))
    import hashlib

    ad = {"file": "ad.safetensors",
          "sha256": hashlib.sha256((tmp_path / "ad.safetensors").read_bytes()).hexdigest()}
    packed = load_ad_packed(tmp_path, ad)
    np.testing.assert_array_equal(packed, pack_bits(bits))
    q = pack_bits(ad_bits(["CCCO", "c1ccccc1N"]))
    # duplicated reference rows and overlapping sets give the per-set maxima of brute force
    sims = max_similarity(q, [packed, packed[:2], packed[3:]])
    qb = np.unpackbits(q, axis=1).astype(bool)
    for k, ref in enumerate([bits, bits[:2], bits[3:]]):
        inter = (qb[:, None, :] & ref[None]).sum(-1)
        union = (qb[:, None, :] | ref[None]).sum(-1)
        np.testing.assert_allclose(sims[k], (inter / union).max(axis=1), rtol=1e-6)
    bad = dict(arrays, indptr=arrays["indptr"][::-1].copy())
    save_file(bad, str(tmp_path / "bad.safetensors"))
    ad_bad = {"file": "bad.safetensors",
              "sha256": hashlib.sha256((tmp_path / "bad.safetensors").read_bytes()).hexdigest()}
    with pytest.raises(ArtifactError, match="valid on-bit indices"):
        load_ad_packed(tmp_path, ad_bad)
