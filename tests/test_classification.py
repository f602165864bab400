"""Classification that holds up: class weights, their choice by cross-validation, the D-MPNN in
auto's pool, calibrated probabilities and scaffold folds inside auto.

Real data: CYP2C9 substrates (Carbon-Mangels, TDC; 23 % positive) and BBBP (76 % positive).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from drugforge.core.artifacts import load_model, save_model
from drugforge.core.predictor import ModelState, balanced_pos_weight, balanced_sample_weight
from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.models import build_model, get_model_class

#: small, fast settings of each model that takes class_weight
FAST: dict[str, dict[str, Any]] = {
    "gbm": {"n_estimators": 60},
    "mlp": {"hidden_sizes": (64,), "max_epochs": 15, "patience": 5},
    "mpnn": {"hidden": 32, "ffn_hidden": 32, "max_epochs": 15, "patience": 15, "lr": 3e-3},
}


def _cyp(admet_dir: Path, n: int = 240) -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(admet_dir / "CYP2C9_Substrate_CarbonMangels.csv").head(n)
    return list(frame["smiles"]), frame["y"].to_numpy(float)


def _dataset(smiles: list[str], y: np.ndarray, name: str = "y") -> MoleculeDataset:
    return MoleculeDataset(smiles=smiles, y=y.reshape(len(smiles), -1), target_names=[name],
                           task="classification", source_rows=np.arange(len(smiles)))


def test_balanced_weights_exact() -> None:
    Y = np.array([[1, 0], [0, 0], [0, np.nan], [0, 1], [np.nan, 1]], dtype=float)
    # task 0: 1 positive, 3 negatives; task 1: 2 positives, 2 negatives (NaN rows not counted)
    assert balanced_pos_weight(Y).tolist() == [3.0, 1.0]
    assert balanced_pos_weight(np.array([[0.0], [0.0]])).tolist() == [1.0]  # no positive
    w = balanced_sample_weight(np.array([1.0, 0.0, 0.0, 0.0]))
    assert w.tolist() == [2.0, 4 / 6, 4 / 6, 4 / 6] and w.sum() == pytest.approx(4.0)
    # validation rows get the training labels' weights
    assert balanced_sample_weight(np.array([1.0, 0.0]), np.array([1.0, 0, 0, 0])).tolist() == [
        2.0, 4 / 6]


@pytest.mark.parametrize("name", sorted(FAST))
def test_class_weight_shifts_probabilities_and_loads_back(
    name: str, admet_dir: Path, tmp_path: Path
) -> None:
    smiles, y = _cyp(admet_dir, 200)
    plain = build_model(name, "classification", **FAST[name]).fit(smiles, y)
    balanced = build_model(name, "classification", class_weight="balanced", **FAST[name])
    balanced.fit(smiles, y)
    p_plain, p_bal = plain.predict(smiles)[:, 0], balanced.predict(smiles)[:, 0]
    # 23 % positives: weighing them up moves the probabilities up on average
    assert p_bal.mean() > p_plain.mean() + 0.05
    out = save_model(tmp_path / name, balanced, task="classification", target_names=["y"],
                     standardizer={}, data_hash="x")  # fmt: skip
    loaded = load_model(out)
    assert loaded.model.get_params()["class_weight"] == "balanced"
    np.testing.assert_array_equal(loaded.model.predict(smiles), balanced.predict(smiles))


@pytest.mark.parametrize("name", sorted(FAST))
def test_state_saved_before_class_weight_loads_unweighted(name: str, admet_dir: Path) -> None:
    smiles, y = _cyp(admet_dir, 60)
    model = build_model(name, "classification", **FAST[name]).fit(smiles, y)
    state = model.get_state()
    state.meta["params"].pop("class_weight")  # what an earlier release wrote
    state.meta["model"] = name
    old = get_model_class(name).from_state(ModelState(state.arrays, state.meta))
    assert old.get_params()["class_weight"] is None
    np.testing.assert_array_equal(old.predict(smiles[:10]), model.predict(smiles[:10]))


def test_multitask_weights_keep_missing_labels_masked(admet_dir: Path) -> None:
    smiles, y = _cyp(admet_dir, 120)
    Y = np.stack([y, 1.0 - y], axis=1)
    Y[::3, 1] = np.nan  # task 1 misses a third of its labels
    model = build_model("mlp", "classification", class_weight="balanced", **FAST["mlp"])
    p = model.fit(smiles, Y).predict(smiles)
    assert p.shape == (120, 2) and np.isfinite(p).all()
    with pytest.raises(ValueError, match="class_weight"):
        build_model("gbm", "classification", class_weight="heavy").fit(smiles, y)


# ------------------------------------------------------------------ auto: variants and pool
def _balanced_cyp(admet_dir: Path, n_per_class: int = 90) -> MoleculeDataset:
    frame = pd.read_csv(admet_dir / "CYP2C9_Substrate_CarbonMangels.csv")
    pos = frame[frame["y"] == 1].head(n_per_class)
    neg = frame[frame["y"] == 0].head(n_per_class)
    both = pd.concat([pos, neg]).sort_index()
    return _dataset(list(both["smiles"]), both["y"].to_numpy(float))


def test_auto_tries_class_weights_on_imbalanced_data_only(admet_dir: Path) -> None:
    from drugforge.molecules.selection.auto import imbalanced, select_model

    params = {"gbm": FAST["gbm"]}
    skewed = _dataset(*_cyp(admet_dir, 180))
    assert imbalanced(skewed.y)  # 23 % positive
    result = select_model(skewed, pool=("svm", "gbm"), k=3, seed=0, model_params=params)
    names = [row.spec.describe() for row in result.rows]
    assert names[:4] == ["svm", "svm[balanced]", "gbm", "gbm[balanced]"]
    assert [r.spec.params.get("class_weight") for r in result.rows[:4]] == [
        None, "balanced", None, "balanced"]
    # the average of the best two is keyed by model name, with each one's better variant
    ens = next(r for r in result.rows if r.spec.describe() == "ensemble(svm+gbm)"
               or r.spec.describe() == "ensemble(gbm+svm)")
    for member, member_params in ens.spec.params["member_params"].items():
        variants = [r for r in result.rows[:4] if r.spec.name == member]
        better = max(variants, key=lambda r: r.score)
        assert member_params == better.spec.params
    assert result.best_oof is not None and result.best_oof.shape == skewed.y.shape

    even = _balanced_cyp(admet_dir)
    assert not imbalanced(even.y)
    names = [r.spec.describe() for r in
             select_model(even, pool=("svm", "gbm"), k=3, seed=0, model_params=params).rows]
    assert not any("balanced" in name for name in names)
    assert names[:2] == ["svm", "gbm"]


def test_user_class_weight_is_not_second_guessed(admet_dir: Path) -> None:
    from drugforge.molecules.selection.auto import class_weight_variants

    skewed = _dataset(*_cyp(admet_dir, 100))
    variants = class_weight_variants(skewed, ("svm", "gbm", "gp"),
                                     {"svm": {"class_weight": None}})  # fmt: skip
    assert dict(variants) == {"gbm": [{}, {"class_weight": "balanced"}]}  # gp takes none


def test_mpnn_joins_the_classification_pool_below_its_cap() -> None:
    from drugforge.molecules.selection.auto import MPNN_MAX_TRAIN, default_pool

    assert "mpnn" in default_pool("classification", MPNN_MAX_TRAIN)
    assert "mpnn" not in default_pool("classification", MPNN_MAX_TRAIN + 1)
    assert "mpnn" not in default_pool("regression", 100)


# ------------------------------------------------------------------ calibrated probabilities
def test_isotonic_wins_on_a_step_miscalibration_with_enough_rows() -> None:
    from drugforge.core.evaluation.probability import (
        apply_probability_calibration,
        fit_probability_calibration,
    )

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 3000)
    y = (rng.uniform(0, 1, 3000) < np.where(p < 0.5, 0.1, 0.9)).astype(float)  # a step
    recipe = fit_probability_calibration(y, p, method="auto", fitted_on="test")
    task = recipe["tasks"][0]
    assert task["method"] == "isotonic" and task["n"] == 3000
    assert set(task["cv_brier"]) == {"identity", "platt", "isotonic"}
    assert task["brier_after"] < task["cv_brier"]["platt"] < task["brier_before"]
    # below ISOTONIC_MIN_ROWS isotonic is not considered
    small = fit_probability_calibration(y[:500], p[:500], method="auto")["tasks"][0]
    assert small["method"] == "platt" and "isotonic" not in small["cv_brier"]
    # applying: NaN stays NaN, the recipe is monotone, an empty recipe changes nothing
    q = apply_probability_calibration(recipe, np.array([[0.1], [np.nan], [0.9]]))
    assert np.isnan(q[1, 0]) and q[0, 0] < 0.2 and q[2, 0] > 0.8
    same = np.array([[0.3]])
    assert apply_probability_calibration({}, same) is same
    # too few labelled rows: identity, said why
    tiny = fit_probability_calibration(y[:10], p[:10])["tasks"][0]
    assert tiny["method"] == "identity" and "too few" in tiny["reason"]


def test_calibration_repairs_class_weighted_probabilities(admet_dir: Path) -> None:
    """Balanced class weights push P(substrate) up (23 % positive): calibrated on out-of-fold
    predictions, the Brier score on the same rows drops."""
    from drugforge.core.evaluation.probability import (
        apply_probability_calibration,
        fit_probability_calibration,
    )
    from drugforge.molecules.selection.auto import select_model

    data = _dataset(*_cyp(admet_dir, 240))
    params = {"gbm": {**FAST["gbm"], "class_weight": "balanced"}}
    result = select_model(data, pool=("gbm",), k=4, seed=0, model_params=params)
    oof = result.best_oof
    assert oof is not None and [r.spec.describe() for r in result.rows] == ["gbm"]
    assert oof.mean() > data.y.mean() + 0.05  # shifted up
    recipe = fit_probability_calibration(data.y, oof, method="auto", fitted_on="out-of-fold")
    task = recipe["tasks"][0]
    assert task["method"] == "platt"
    assert task["brier_after"] < task["brier_before"] - 0.005  # cross-fitted, honest
    calibrated = apply_probability_calibration(recipe, oof)
    brier = lambda p: float(np.mean((p - data.y) ** 2))
    assert brier(calibrated) < brier(oof)
    assert abs(calibrated.mean() - data.y.mean()) < abs(oof.mean() - data.y.mean())


# ------------------------------------------------------------------ the train workflow
def _column_split_csv(admet_dir: Path, tmp_path: Path, n: int = 300) -> Path:
    frame = pd.read_csv(admet_dir / "CYP2C9_Substrate_CarbonMangels.csv").head(n).copy()
    frame["split"] = np.where(np.arange(n) % 10 == 0, "test",
                             np.where(np.arange(n) % 10 == 1, "valid", "train"))  # fmt: skip
    path = tmp_path / "cyp.csv"
    frame.to_csv(path, index=False)
    return path


def test_cv_folds_are_scaffold_for_column_splits_unless_told() -> None:
    from drugforge.workflows.train import TrainConfig, _cv_method

    def method(**kw: Any) -> str:
        return _cv_method(TrainConfig(data="x.csv", out="m", **kw))

    assert method(split="column:split") == "scaffold"
    assert method(split="scaffold") == "scaffold" and method(split="cluster") == "scaffold"
    assert method(split="random") == "random"
    assert method(split="column:split", cv_split="random") == "random"
    assert method(split="random", cv_split="scaffold") == "scaffold"
    with pytest.raises(ValueError, match="cv_split"):
        TrainConfig(data="x.csv", out="m", cv_split="cluster")  # type: ignore[arg-type]


def test_train_auto_calibrates_and_saved_model_predicts_calibrated(
    admet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from cli_helpers import run
    from drugforge.core.evaluation.probability import apply_probability_calibration
    from drugforge.workflows.export import export_model

    data = _column_split_csv(admet_dir, tmp_path)
    out = tmp_path / "model"
    code, _, err = run(["train", str(data), "--target", "y", "--split", "column:split",
                        "--model", "auto", "--auto-pool", "svm,gbm", "--cv-folds", "3",
                        "--model-param", "gbm.n_estimators=60", "--out", str(out), "--quiet"],
                       capsys)  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cv_method"] == "scaffold"  # a column split gets scaffold folds
    cv_rows = [row["model"] for row in metrics["attempts"][0]["auto_cv"]]
    assert cv_rows[:4] == ["svm", "svm[balanced]", "gbm", "gbm[balanced]"]
    recipe = metrics["probability_calibration"]
    assert recipe["fitted_on"] == "out-of-fold (training set)"
    task = recipe["tasks"][0]
    assert task["n"] == 240 and task["method"] in {"platt", "identity"}
    assert task["brier_after"] <= task["brier_before"]
    assert "brier_uncalibrated" in metrics["calibration"]["per_task"]["y"]
    report = (out / "report.md").read_text()
    assert "Probability calibration" in report and "scaffold folds" in report
    assert "gbm[balanced]" in report

    loaded = load_model(out)
    assert loaded.manifest["probability_calibration"] == recipe
    smiles = pd.read_csv(data)["smiles"].tolist()[:40]
    pred = loaded.predict(smiles)
    raw = loaded.model.predict_dist(loaded.model.prepare_inputs(smiles, loaded.standardizer)[0])[0]
    np.testing.assert_allclose(pred.mean, apply_probability_calibration(recipe, raw))
    # ONNX: the graph applies the same calibration (the export checks parity itself)
    summary = export_model(out, tmp_path / "m.onnx", quiet=True)
    assert max(summary.max_abs_diff.values()) <= 1e-5
    assert summary.spec["probability_calibration"] == recipe


def test_named_model_calibrates_on_the_validation_part(
    admet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from cli_helpers import run
    from drugforge.workflows.export import export_model

    data = _column_split_csv(admet_dir, tmp_path)
    out = tmp_path / "model"
    code, _, err = run(["train", str(data), "--target", "y", "--split", "column:split",
                        "--model", "gbm", "--model-param", "gbm.n_estimators=60",
                        "--model-param", "gbm.class_weight=balanced", "--calibration", "platt",
                        "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    recipe = metrics["probability_calibration"]
    assert recipe["fitted_on"] == "validation" and recipe["tasks"][0]["method"] == "platt"
    assert recipe["tasks"][0]["n"] == 30
    assert metrics["cv_method"] is None  # no cross-validation ran
    again = load_model(out).predict(["CCO", "c1ccccc1O"])
    assert np.isfinite(again.mean).all() and np.isfinite(again.std).all()
    summary = export_model(out, tmp_path / "m.onnx", quiet=True)  # Platt in the graph
    assert max(summary.max_abs_diff.values()) <= 1e-5


def test_isotonic_calibration_in_onnx_matches_drugforge(admet_dir: Path) -> None:
    import onnxruntime as ort

    from drugforge.core.evaluation.probability import (
        apply_probability_calibration,
        fit_probability_calibration,
    )
    from drugforge.molecules.export.onnx import to_onnx
    from drugforge.molecules.export.onnx_inputs import make_inputs

    smiles, y = _cyp(admet_dir, 120)
    model = build_model("gbm", "classification", **FAST["gbm"]).fit(smiles, y)
    p = model.predict(smiles)
    recipe = fit_probability_calibration(y, p, method="isotonic")
    assert recipe["tasks"][0]["method"] == "isotonic" and len(recipe["tasks"][0]["x"]) > 2
    export = to_onnx(model, uncertainty={"method": "bernoulli"}, probability_calibration=recipe)
    session = ort.InferenceSession(export.model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    got, std = session.run(None, make_inputs(export.inputs, smiles))
    want = apply_probability_calibration(recipe, p)
    np.testing.assert_allclose(got, want, atol=1e-9)
    # sqrt(p (1 - p)) near p = 1 turns a 1e-16 difference into 1e-8: the export tolerance is 1e-5
    np.testing.assert_allclose(std, np.sqrt(want * (1 - want)), atol=1e-6)
