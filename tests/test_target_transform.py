"""Target transforms: heavy-tailed regression targets fitted on log10(y), reported in their units.

Real data: TDC's VDss (Lombardo; L/kg, 0.04 to 700, heavy tailed) and Caco-2 permeability (Wang;
already log units, all negative).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from scipy.stats import skew

from cli_helpers import one_line_error, run
from drugforge.core.artifacts import load_model
from drugforge.core.errors import ArtifactError, InputError
from drugforge.core.evaluation.metrics import compute_metrics
from drugforge.core.evaluation.target_transform import (
    _skewness,
    choose_target_transform,
    forward,
    inverse,
    is_identity,
)
from drugforge.molecules.data.dataset import MoleculeDataset, prepare_dataset
from drugforge.molecules.data.input import read_input

LOG10 = {"requested": "log10", "targets": [{"name": "a", "method": "log10"},
                                           {"name": "b", "method": "none"}]}  # fmt: skip


def _head(admet_dir: Path, name: str, tmp_path: Path, n: int = 300) -> Path:
    path = tmp_path / name
    pd.read_csv(admet_dir / name).head(n).to_csv(path, index=False)
    return path


def _y(path: Path) -> np.ndarray:
    return pd.read_csv(path)["y"].to_numpy(float)[:, None]


def test_forward_and_inverse_exact() -> None:
    y = np.array([[100.0, -3.0], [0.01, 2.0], [np.nan, np.nan]])
    np.testing.assert_allclose(forward(LOG10, y), [[2.0, -3.0], [-2.0, 2.0], [np.nan, np.nan]])
    mean, std = inverse(LOG10, np.array([[2.0, -3.0]]), np.array([[0.1, 0.5]]))
    assert std is not None
    np.testing.assert_allclose(mean, [[100.0, -3.0]])
    np.testing.assert_allclose(std, [[math.log(10.0) * 100.0 * 0.1, 0.5]])  # delta method
    # no recipe, or none everywhere: the very arrays come back (older models predict as before)
    m = np.array([[1.0]])
    assert inverse({}, m)[0] is m and inverse({"targets": [{"method": "none"}]}, m)[0] is m
    assert is_identity({}) and not is_identity(LOG10)
    with pytest.raises(ValueError, match="2 target"):
        inverse(LOG10, np.zeros((1, 3)))


def test_skewness_matches_scipy(admet_dir: Path) -> None:
    y = pd.read_csv(admet_dir / "VDss_Lombardo.csv")["y"].to_numpy(float)
    assert _skewness(y) == pytest.approx(float(skew(y)), rel=1e-12)


def test_auto_picks_log10_for_vdss_and_none_for_caco2(admet_dir: Path, tmp_path: Path) -> None:
    vdss = _y(_head(admet_dir, "VDss_Lombardo.csv", tmp_path))
    recipe = choose_target_transform("regression", vdss[:240], ["VDss"], "auto", y_all=vdss)
    target = recipe["targets"][0]
    assert target["method"] == "log10" and target["skewness"] > 2 and target["min"] > 0
    assert target["reason"].startswith("all values > 0, skewness")
    caco = _y(_head(admet_dir, "Caco2_Wang.csv", tmp_path))
    recipe = choose_target_transform("regression", caco[:240], ["Caco2"], "auto", y_all=caco)
    assert recipe["targets"][0]["method"] == "none"
    assert "values <= 0" in recipe["targets"][0]["reason"]
    # a target that is positive but not heavy tailed stays as it is
    flat = np.linspace(1.0, 5.0, 50)[:, None]
    assert choose_target_transform("regression", flat, ["y"])["targets"][0]["method"] == "none"
    # ... and a range over 1000x is log10 even without a long right tail
    wide = np.concatenate([[0.001], np.linspace(5.0, 10.0, 49)])[:, None]  # skewness < 0
    chosen = choose_target_transform("regression", wide, ["y"])["targets"][0]
    assert chosen["skewness"] < 0 and chosen["method"] == "log10"
    assert chosen["reason"] == "all values > 0, max/min 1e+04 > 1000"
    # classification is never transformed
    labels = np.array([[0.0], [1.0], [1.0]])
    assert is_identity(choose_target_transform("classification", labels, ["y"], "auto"))


def test_log10_of_a_non_positive_target_is_one_line_error(
    admet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _head(admet_dir, "Caco2_Wang.csv", tmp_path, n=120)
    code, _, err = run(["train", str(data), "--target", "y", "--model", "gbm",
                        "--target-transform", "log10", "--out", str(tmp_path / "m"), "--quiet"],
                       capsys)  # fmt: skip
    one_line_error(code, err, "target 'y' has 120 value(s) <= 0")
    assert str(data) in err and "--target-transform log10 needs every value > 0" in err
    with pytest.raises(InputError, match="regression targets only"):
        choose_target_transform("classification", np.ones((3, 1)), ["y"], "log10")


def test_log10_model_predicts_in_original_units_and_survives_save_load(
    admet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from drugforge.workflows.export import export_model

    data = _head(admet_dir, "VDss_Lombardo.csv", tmp_path)
    out = tmp_path / "model"
    code, _, err = run(["train", str(data), "--target", "y", "--model", "gbm",
                        "--model-param", "gbm.n_estimators=60", "--out", str(out), "--quiet"],
                       capsys)  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target_transform"]["summary"] == "log10 for y"
    report = (out / "report.md").read_text()
    assert "## Target transform" in report and "log10 for y" in report

    loaded = load_model(out)
    recipe = loaded.manifest["target_transform"]
    assert recipe["requested"] == "auto" and recipe["targets"][0]["method"] == "log10"
    split = json.loads((out / "split.json").read_text())
    test_smiles = split["smiles"]["test"]
    pred = loaded.predict(test_smiles)
    assert pred.n_failed == 0
    # original units: positive, on the scale of the labels (not log10 values around 0)
    y = _y(data)
    assert (pred.mean > 0).all() and (pred.std > 0).all()
    assert 0.1 < np.median(pred.mean) / np.median(y) < 10
    # exactly 10**mu of the model, and the delta-method std of the log-scale constant std
    items = loaded.model.prepare_inputs(test_smiles, loaded.standardizer)[0]
    mu = loaded.model.predict_dist(items)[0]
    np.testing.assert_allclose(pred.mean, 10.0**mu, rtol=1e-12)
    scale = loaded.uncertainty["scale"][0]
    np.testing.assert_allclose(pred.std, math.log(10.0) * pred.mean * scale, rtol=1e-12)
    # the saved test metrics are in the target's units: recomputed from these predictions
    dataset, _ = prepare_dataset(read_input(str(data), None, ["y"]))  # as train read it
    labels = dict(zip(dataset.smiles, dataset.y[:, 0], strict=True))
    y_test = np.array([[labels[s]] for s in test_smiles])
    again = compute_metrics("regression", y_test, pred.mean, ["y"]).overall
    assert again["rmse"] == pytest.approx(metrics["test"]["rmse"], rel=1e-9)
    assert again["rmse"] > 1.0  # L/kg, not log10 units
    # the panel's path (features computed once) gives the same numbers
    mols = [Chem.MolFromSmiles(s) if isinstance(s, str) else s for s in items]
    features = np.hstack([np.array([f(m) for m in mols], dtype=np.float32)
                          for f in loaded.model.input_featurizers()])  # fmt: skip
    via_features = loaded.predict_features(features)
    np.testing.assert_allclose(via_features.mean, pred.mean, rtol=1e-12)
    np.testing.assert_allclose(via_features.std, pred.std, rtol=1e-12)
    # a copy loads and predicts identically
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    again_pred = load_model(copy).predict(test_smiles)
    np.testing.assert_array_equal(again_pred.mean, pred.mean)
    np.testing.assert_array_equal(again_pred.std, pred.std)
    # ONNX: the graph raises 10 to the model's output itself
    summary = export_model(out, tmp_path / "m.onnx", quiet=True)
    assert max(summary.max_abs_diff.values()) <= 1e-5
    assert summary.spec["target_transform"] == recipe


def test_none_saves_no_key_and_an_unknown_method_is_refused(
    admet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _head(admet_dir, "VDss_Lombardo.csv", tmp_path, n=150)
    out = tmp_path / "model"
    code, _, err = run(["train", str(data), "--target", "y", "--model", "gbm",
                        "--model-param", "gbm.n_estimators=30", "--target-transform", "none",
                        "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert "target_transform" not in manifest  # as every model saved before transforms existed
    loaded = load_model(out)
    smiles = ["CCO", "c1ccccc1O"]
    items = loaded.model.prepare_inputs(smiles, loaded.standardizer)[0]
    np.testing.assert_array_equal(loaded.predict(smiles).mean, loaded.model.predict(items))
    # a recipe from a later version this one cannot apply: refused when loading, in one line
    manifest["target_transform"] = {"targets": [{"name": "y", "method": "box-cox"}]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="incompatible target transform"):
        load_model(out)


def test_cross_validation_fits_on_log_and_scores_in_original_units(admet_dir: Path) -> None:
    from drugforge.core.evaluation.metrics import primary_metric
    from drugforge.molecules.selection.auto import select_model

    frame = pd.read_csv(admet_dir / "VDss_Lombardo.csv").head(200)
    y = frame["y"].to_numpy(float)[:, None]
    train = MoleculeDataset(smiles=list(frame["smiles"]), y=y, target_names=["y"],
                            task="regression", source_rows=np.arange(len(y)))  # fmt: skip
    recipe = choose_target_transform("regression", y, ["y"], "log10")
    result = select_model(train, pool=("svm", "gbm"), k=3, model_params={"gbm": {"n_estimators":
                          30}}, target_transform=recipe)  # fmt: skip
    metric = primary_metric("regression")
    for row in result.rows:
        assert row.oof is not None
        assert np.nanmax(np.abs(row.oof)) < 4  # out-of-fold predictions on the log10 scale
        want = compute_metrics("regression", y, 10.0**row.oof, ["y"]).overall[metric]
        assert row.score == pytest.approx(want, rel=1e-9)  # ... scored in L/kg
