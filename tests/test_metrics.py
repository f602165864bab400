"""Metrics and calibration: exact values against hand-computed cases and scikit-learn."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from drugforge.core.errors import DrugforgeError, InputError
from drugforge.core.evaluation.calibration import (
    ONE_SIGMA_MASS,
    apply_std_scale,
    calibration_report,
    classification_calibration_report,
    conformal_quantile,
    expected_calibration_error,
    fit_std_scale,
    fit_std_scales,
    reliability_curve,
    task_calibration_report,
)
from drugforge.core.evaluation.metrics import (
    METRIC_BOUNDS,
    METRIC_DIRECTIONS,
    TASK_METRICS,
    MetricsResult,
    classification_metrics,
    cliff_rmse,
    compute_metrics,
    higher_is_better,
    metric_names,
    primary_metric,
    regression_metrics,
)

nan = float("nan")


# --------------------------------------------------------------------------- registry


def test_registry_covers_every_task_metric() -> None:
    for task, names in TASK_METRICS.items():
        for name in names:
            assert METRIC_DIRECTIONS[name] in ("higher", "lower")
            assert name in METRIC_BOUNDS
        assert primary_metric(task) in names
    assert primary_metric("regression") == "rmse"
    assert primary_metric("classification") == "roc_auc"
    assert METRIC_DIRECTIONS["rmse"] == "lower" and METRIC_DIRECTIONS["roc_auc"] == "higher"
    assert higher_is_better("r2") and not higher_is_better("brier")
    assert metric_names("classification") == TASK_METRICS["classification"]
    assert set(metric_names()) == set(METRIC_DIRECTIONS)


def test_registry_errors() -> None:
    with pytest.raises(InputError, match="unknown task 'ranking'; choose from: regression"):
        primary_metric("ranking")
    with pytest.raises(InputError, match="unknown metric 'rsme'; choose from: rmse"):
        higher_is_better("rsme")
    with pytest.raises(TypeError):
        METRIC_DIRECTIONS["rmse"] = "higher"  # type: ignore[index]


# --------------------------------------------------------------------------- regression


def test_regression_hand_computed() -> None:
    res = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    row = res["per_task"]["y"]
    assert row["n"] == 4
    assert row["rmse"] == pytest.approx(0.5)  # sqrt(1/4)
    assert row["mae"] == pytest.approx(0.25)
    assert row["r2"] == pytest.approx(0.8)  # 1 - 1/5
    assert row["pearson"] == pytest.approx(6.5 / math.sqrt(5 * 8.75))
    assert row["spearman"] == pytest.approx(1.0)
    assert row["ci"] == 1.0  # every pair ranked right
    assert row["mse"] == pytest.approx(0.25)
    keys = ("rmse", "mae", "r2", "spearman", "pearson", "ci", "mse", "rm2")
    assert res["overall"] == {k: row[k] for k in keys}
    assert res["notes"] == []


def test_regression_matches_sklearn_with_missing_labels() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(60, 3))
    p = y + rng.normal(scale=0.7, size=(60, 3))
    y[rng.random((60, 3)) < 0.3] = nan
    res = regression_metrics(y, p, target_names=["a", "b", "c"])
    for j, name in enumerate("abc"):
        ok = ~np.isnan(y[:, j])
        yt, yp = y[ok, j], p[ok, j]
        row = res["per_task"][name]
        assert row["n"] == ok.sum()
        assert row["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(yt, yp)), rel=1e-12)
        assert row["mae"] == pytest.approx(skm.mean_absolute_error(yt, yp), rel=1e-12)
        assert row["r2"] == pytest.approx(skm.r2_score(yt, yp), rel=1e-12)
        assert row["pearson"] == pytest.approx(stats.pearsonr(yt, yp)[0], rel=1e-12)
        assert row["spearman"] == pytest.approx(stats.spearmanr(yt, yp)[0], rel=1e-12)
    for key in ("rmse", "mae", "r2", "spearman", "pearson"):
        expected = np.mean([res["per_task"][n][key] for n in "abc"])
        assert res["overall"][key] == pytest.approx(expected, rel=1e-12)


def test_regression_nan_prediction_left_out_with_note() -> None:
    res = regression_metrics([1.0, 2.0, 3.0, nan], [1.5, nan, 3.0, 7.0])
    row = res["per_task"]["y"]
    assert row["n"] == 2
    assert row["rmse"] == pytest.approx(math.sqrt(0.25 / 2))
    assert res["notes"] == ["y: 1 labelled row(s) without a finite prediction left out"]


def test_regression_degenerate_tasks_give_nan_not_crash() -> None:
    y = np.array([[1.0, 2.0, nan], [1.0, 3.0, nan], [1.0, 4.0, nan]])
    p = np.array([[1.1, 2.0, 0.0], [0.9, 2.0, 0.0], [1.0, 2.0, 0.0]])
    res = regression_metrics(y, p, target_names=["const", "flat", "empty"])
    const, flat, empty = (res["per_task"][k] for k in ("const", "flat", "empty"))
    assert math.isnan(const["r2"]) and math.isnan(const["pearson"])
    assert const["rmse"] == pytest.approx(math.sqrt(0.02 / 3))
    assert flat["r2"] == pytest.approx(1 - 5.0 / 2.0)  # defined: labels vary
    assert math.isnan(flat["spearman"])  # predictions constant
    assert empty["n"] == 0 and math.isnan(empty["rmse"])
    # macro mean skips undefined values instead of becoming NaN
    assert res["overall"]["rmse"] == pytest.approx(np.mean([const["rmse"], flat["rmse"]]))
    assert res["overall"]["r2"] == pytest.approx(flat["r2"])
    assert math.isnan(res["overall"]["pearson"])
    text = " ".join(res["notes"])
    assert "const: all labels equal" in text
    assert "flat: all predictions equal" in text
    assert "empty: no labelled rows" in text


def test_shape_and_name_errors() -> None:
    with pytest.raises(
        InputError, match=r"y_pred has shape \(3, 1\) but y_true has shape \(2, 1\)"
    ):
        regression_metrics([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="2 target name"):
        compute_metrics("regression", [[1.0], [2.0]], [[1.0], [2.0]], ["a", "b"])
    with pytest.raises(InputError, match="unique"):
        compute_metrics("regression", np.ones((2, 2)), np.ones((2, 2)), ["a", "a"])
    with pytest.raises(InputError, match="unknown task"):
        compute_metrics("ranking", [1.0], [1.0], ["a"])


# --------------------------------------------------------------------------- classification


def test_classification_hand_computed() -> None:
    res = classification_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    row = res["per_task"]["y"]
    assert row["n"] == 4 and row["n_positive"] == 2
    assert row["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ordered
    assert row["accuracy"] == pytest.approx(0.5)
    assert row["balanced_accuracy"] == pytest.approx(0.5)
    assert row["f1"] == pytest.approx(0.5)
    assert row["mcc"] == pytest.approx(0.0)
    assert row["brier"] == pytest.approx(0.185)
    assert row["pr_auc"] == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)  # AP: recall steps x precision


def test_classification_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((200, 2)) < [0.3, 0.6]).astype(float)
    p = np.clip(0.35 * y + 0.65 * rng.random((200, 2)), 0, 1)
    p[0, 0] = 0.5  # exactly on the threshold counts as positive
    y[rng.random((200, 2)) < 0.15] = nan
    res = classification_metrics(y, p, target_names=["t1", "t2"])
    for j, name in enumerate(("t1", "t2")):
        ok = ~np.isnan(y[:, j])
        yt, pt = y[ok, j].astype(int), p[ok, j]
        hard = (pt >= 0.5).astype(int)
        row = res["per_task"][name]
        assert row["roc_auc"] == pytest.approx(skm.roc_auc_score(yt, pt), rel=1e-12)
        assert row["pr_auc"] == pytest.approx(skm.average_precision_score(yt, pt), rel=1e-12)
        assert row["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(yt, hard))
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(yt, hard))
        assert row["f1"] == pytest.approx(skm.f1_score(yt, hard))
        assert row["mcc"] == pytest.approx(skm.matthews_corrcoef(yt, hard))
        assert row["brier"] == pytest.approx(skm.brier_score_loss(yt, pt))
        assert row["log_loss"] == pytest.approx(skm.log_loss(yt, pt, labels=[0, 1]), rel=1e-9)
    assert res["overall"]["roc_auc"] == pytest.approx(
        np.mean([res["per_task"][n]["roc_auc"] for n in ("t1", "t2")])
    )


def test_single_class_task_skips_auc_with_note() -> None:
    y = np.array([[0, 0], [0, 1], [0, 1], [0, 0]], dtype=float)
    p = np.array([[0.2, 0.1], [0.7, 0.8], [0.1, 0.6], [0.3, 0.4]])
    res = classification_metrics(y, p, target_names=["NR-AR", "SR-ARE"])
    single = res["per_task"]["NR-AR"]
    assert math.isnan(single["roc_auc"]) and math.isnan(single["pr_auc"])
    assert single["accuracy"] == pytest.approx(0.75)
    assert single["balanced_accuracy"] == pytest.approx(0.75)  # recall of the class present
    assert single["mcc"] == 0.0 and single["f1"] == 0.0  # scikit-learn's conventions
    assert res["overall"]["roc_auc"] == pytest.approx(1.0)  # only SR-ARE counts
    assert any(n.startswith("NR-AR: only class 0 among 4") for n in res["notes"])


def test_log_loss_clips_certain_mistakes() -> None:
    row = classification_metrics([1.0, 0.0], [0.0, 0.0])["per_task"]["y"]
    assert math.isfinite(row["log_loss"])
    assert row["log_loss"] == pytest.approx(-math.log(np.finfo(float).eps) / 2, rel=1e-6)


def test_classification_input_errors() -> None:
    with pytest.raises(InputError, match="labels must be 0 or 1.*found \\[2.0\\]"):
        classification_metrics([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="probabilities must lie in \\[0, 1\\]"):
        classification_metrics([0, 1], [-2.0, 3.0])
    assert issubclass(InputError, DrugforgeError)


# --------------------------------------------------------------------------- cliffs


def test_cliff_rmse_hand_computed() -> None:
    y = [1.0, 2.0, 3.0, 4.0]
    p = [1.0, 3.0, 5.0, 9.0]
    assert cliff_rmse(y, p, [0, 1, 1, 0]) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert cliff_rmse(y, p, np.array([False, False, False, True])) == pytest.approx(5.0)
    assert math.isnan(cliff_rmse(y, p, [0, 0, 0, 0]))
    with pytest.raises(InputError, match="cliff mask has shape"):
        cliff_rmse(y, p, [1, 0])


def test_cliff_rmse_multitask_ignores_missing_labels() -> None:
    y = np.array([[1.0, nan], [2.0, 2.0], [3.0, 3.0]])
    p = np.array([[2.0, 0.0], [2.0, 4.0], [3.0, 3.0]])
    mask = [1, 1, 0]
    # task 0: rows 0, 1 -> sqrt((1 + 0) / 2); task 1: row 1 only -> 2
    assert cliff_rmse(y, p, mask) == pytest.approx((math.sqrt(0.5) + 2.0) / 2)


# --------------------------------------------------------------------------- compute_metrics


def test_compute_metrics_regression_with_cliffs_and_std() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.0, 3.0, 5.0, 9.0])
    std = np.ones(4)
    res = compute_metrics("regression", y, p, ["pIC50"], {"cliff_mol": [0, 1, 1, 0]}, y_std=std)
    assert isinstance(res, MetricsResult)
    assert res.task == "regression" and res.n == 4 and res.target_names == ["pIC50"]
    assert res.overall["cliff_rmse"] == pytest.approx(math.sqrt(2.5))
    assert res.per_task["pIC50"]["n_cliff"] == 2
    r = y - p
    nll = np.mean(0.5 * np.log(2 * np.pi) + r**2 / 2)
    assert res.overall["nll"] == pytest.approx(nll)
    assert 0 <= res.overall["miscalibration_area"] <= 0.5
    assert res.value("rmse") == res.overall["rmse"]
    assert res.value("rmse", "pIC50") == res.per_task["pIC50"]["rmse"]
    assert math.isnan(res.value("roc_auc")) and math.isnan(res.value("rmse", "other"))


def test_compute_metrics_classification_adds_ece() -> None:
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([0.05, 0.95, 0.65, 0.62])
    res = compute_metrics("classification", y, p, ["active"])
    assert res.overall["ece"] == pytest.approx(0.0925)
    assert set(TASK_METRICS["classification"]) <= set(res.overall)


def test_metrics_result_round_trips_strict_json() -> None:
    y = np.array([[0, 0], [0, 1], [0, 1], [0, 0]], dtype=float)
    p = np.array([[0.2, 0.1], [0.7, 0.8], [0.1, 0.6], [0.3, 0.4]])
    res = compute_metrics("classification", y, p, ["a", "b"])
    text = json.dumps(res.to_dict(), allow_nan=False)  # NaN written as null
    back = MetricsResult.from_dict(json.loads(text))
    assert back.to_dict() == res.to_dict()
    assert math.isnan(back.per_task["a"]["roc_auc"])
    assert back.per_task["b"]["n"] == 4 and isinstance(back.per_task["b"]["n"], int)
    with pytest.raises(InputError, match="not a metrics result"):
        MetricsResult.from_dict({"overall": {}})


# --------------------------------------------------------------------------- calibration


def test_fit_std_scale_exact() -> None:
    scale = fit_std_scale([1.0, -1.0, 2.0], [1.0, 1.0, 2.0])
    assert isinstance(scale, float) and scale == pytest.approx(1.0)
    assert fit_std_scale([2.0, -2.0, nan], [1.0, 1.0, 1.0]) == pytest.approx(2.0)
    assert fit_std_scale([[3.0], [-3.0]], [[1.0], [1.0]]) == pytest.approx(3.0)  # (n, 1) is fine
    # std None: the split-conformal 68.27 % quantile of |r| (7th smallest of 9)
    assert fit_std_scale(np.arange(1.0, 10.0)) == pytest.approx(7.0)
    assert conformal_quantile(np.arange(1.0, 10.0), ONE_SIGMA_MASS) == 7.0
    two = fit_std_scales([[1.0, nan], [-3.0, 2.0], [nan, 2.0]], [[1.0, 1.0], [1.0, 1.0], [1, 1]])
    assert two.shape == (2,)
    assert two[0] == pytest.approx(math.sqrt(5.0)) and two[1] == pytest.approx(2.0)
    assert fit_std_scales([[1.0, 4.0], [-1.0, -4.0]]).tolist() == [1.0, 4.0]


def test_fit_std_scale_recovers_known_inflation() -> None:
    rng = np.random.default_rng(0)
    std = rng.uniform(0.2, 1.5, size=5000)
    residuals = 2.0 * std * rng.normal(size=5000)
    assert fit_std_scale(residuals, std) == pytest.approx(2.0, rel=0.03)
    # without a std, the conformal quantile estimates the Gaussian sigma of the residuals
    assert fit_std_scale(rng.normal(scale=0.5, size=5000)) == pytest.approx(0.5, rel=0.05)


def test_fit_std_scale_too_little_data_and_errors() -> None:
    # fewer than 2 usable points: the uncertainty is unknown (NaN), not made up
    assert math.isnan(fit_std_scale([nan, 1.0], [1.0, 1.0]))
    assert math.isnan(fit_std_scale([1.0, 2.0], [0.0, 1.0]))  # std <= 0 carries no scale
    scales = fit_std_scales([[1.0, nan], [2.0, nan]], [[1.0, 1.0], [1.0, 1.0]])
    assert scales[0] == pytest.approx(math.sqrt(2.5)) and math.isnan(scales[1])
    with pytest.raises(InputError, match="std has shape"):
        fit_std_scale([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="takes one task.*use fit_std_scales"):
        fit_std_scale(np.ones((3, 2)))


def test_apply_std_scale() -> None:
    std = np.ones((3, 2))
    assert apply_std_scale(np.array([2.0, 3.0]), std).tolist() == [[2.0, 3.0]] * 3
    assert apply_std_scale(2.0, np.ones(2)).tolist() == [2.0, 2.0]
    assert apply_std_scale(0.5, None, (4,)).tolist() == [0.5] * 4
    assert apply_std_scale(np.array([1.0, 2.0]), None, (2, 2)).tolist() == [[1.0, 2.0]] * 2
    with pytest.raises(InputError):
        apply_std_scale(np.array([1.0, 2.0]), np.ones(3))
    with pytest.raises(InputError, match="needs the output shape"):
        apply_std_scale(1.0)


def test_task_calibration_report_dispatch() -> None:
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([0.05, 0.95, 0.65, 0.62])
    cls = task_calibration_report("classification", y, p, np.sqrt(p * (1 - p)))
    assert cls is not None and cls["kind"] == "classification"
    assert cls["overall"]["ece"] == pytest.approx(0.0925)
    reg = task_calibration_report("regression", y, p, np.ones(4), target_names=["logS"])
    assert reg is not None and reg["kind"] == "regression" and list(reg["per_task"]) == ["logS"]
    assert task_calibration_report("regression", y, p) is None
    with pytest.raises(InputError, match="unknown task"):
        task_calibration_report("ranking", y, p)


def _gaussian(n: int, seed: int, inflate: float = 1.0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=n)
    std = rng.uniform(0.5, 2.0, size=n)
    y = mean + inflate * std * rng.normal(size=n)
    return y, mean, std


def test_calibration_report_perfect_gaussian() -> None:
    y, mean, std = _gaussian(20000, seed=0)
    rep = calibration_report(y, mean, std)
    assert rep["kind"] == "regression"
    row = rep["per_task"]["y"]
    assert row["n"] == 20000
    assert row["coverage_95"] == pytest.approx(0.95, abs=0.005)
    assert row["coverage_68"] == pytest.approx(ONE_SIGMA_MASS, abs=0.01)
    assert row["miscalibration_area"] < 0.01
    assert row["z_rms"] == pytest.approx(1.0, abs=0.02)
    assert row["spearman_err_std"] > 0.2  # larger spreads do flag larger errors
    expected_nll = np.mean(0.5 * np.log(2 * np.pi) + np.log(std) + 0.5)
    assert row["nll"] == pytest.approx(expected_nll, abs=0.02)
    assert len(row["curve"]["expected"]) == len(row["curve"]["observed"]) == 101
    assert row["curve"]["observed"][0] == 0.0 and row["curve"]["observed"][-1] == 1.0
    assert rep["overall"]["coverage_95"] == row["coverage_95"]
    json.dumps(rep, allow_nan=False)


def test_overconfident_model_is_detected_and_fixed() -> None:
    y_val, m_val, s_val = _gaussian(5000, seed=1, inflate=2.0)
    y_te, m_te, s_te = _gaussian(5000, seed=2, inflate=2.0)
    before = calibration_report(y_te, m_te, s_te)["overall"]
    assert before["coverage_95"] < 0.7  # P(|z| < 0.98) = 0.67
    assert before["miscalibration_area"] > 0.1
    scale = fit_std_scale(y_val - m_val, s_val)
    after = calibration_report(y_te, m_te, apply_std_scale(scale, s_te))["overall"]
    assert after["coverage_95"] == pytest.approx(0.95, abs=0.015)
    assert after["miscalibration_area"] < 0.02
    assert after["nll"] < before["nll"]


def test_calibration_report_multitask_and_errors() -> None:
    y = np.array([[1.0, nan], [2.0, nan], [3.0, nan]])
    rep = calibration_report(y, y + 0.1, np.ones_like(y), target_names=["a", "b"])
    assert rep["per_task"]["a"]["coverage_95"] == 1.0
    assert rep["per_task"]["b"]["n"] == 0
    assert any(n.startswith("b: no labelled rows") for n in rep["notes"])
    assert rep["overall"]["coverage_95"] == 1.0  # the mean over tasks that have data
    with pytest.raises(InputError, match="non-negative"):
        calibration_report([1.0, 2.0], [1.0, 2.0], [1.0, -1.0])


def test_ece_and_reliability_hand_computed() -> None:
    y = [0, 1, 1, 0]
    p = [0.05, 0.95, 0.65, 0.62]
    curve = reliability_curve(y, p)
    assert curve["mean_predicted"] == pytest.approx([0.05, 0.635, 0.95])
    assert curve["fraction_positive"] == pytest.approx([0.0, 0.5, 1.0])
    assert curve["count"] == [1.0, 2.0, 1.0]
    # 1/4 * 0.05 + 2/4 * 0.135 + 1/4 * 0.05
    assert expected_calibration_error(y, p) == pytest.approx(0.0925)
    assert expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0  # p = 1 goes in the last bin


def test_reliability_curve_matches_sklearn_off_bin_edges() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(500)
    p = p[np.abs(p * 10 - np.round(p * 10)) > 1e-6]
    y = (rng.random(p.size) < p).astype(int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    curve = reliability_curve(y, p)
    assert curve["mean_predicted"] == pytest.approx(prob_pred.tolist())
    assert curve["fraction_positive"] == pytest.approx(prob_true.tolist())


def test_classification_calibration_well_calibrated() -> None:
    rng = np.random.default_rng(4)
    p = rng.random((50000, 2))
    y = (rng.random((50000, 2)) < p).astype(float)
    y[:100, 1] = nan
    rep = classification_calibration_report(y, p, target_names=["a", "b"])
    assert rep["overall"]["ece"] < 0.01
    assert rep["per_task"]["b"]["n"] == 49900
    assert rep["per_task"]["a"]["brier"] == pytest.approx(skm.brier_score_loss(y[:, 0], p[:, 0]))
    # badly calibrated: always says 0.9 for a 50 % event
    bad = classification_calibration_report(np.tile([0.0, 1.0], 50), np.full(100, 0.9))
    assert bad["overall"]["ece"] == pytest.approx(0.4)


def test_metric_tables_come_from_the_registry() -> None:
    """Names, directions and ranges are the registry's: one definition per metric."""
    from drugforge.core.evaluation.metric_registry import METRICS
    from drugforge.core.evaluation.metrics import METRIC_BOUNDS, METRIC_DIRECTIONS, TASK_METRICS

    assert list(METRIC_DIRECTIONS) == list(METRICS.names())
    for metric in METRICS.values():
        assert METRIC_DIRECTIONS[metric.name] == metric.direction
        assert METRIC_BOUNDS[metric.name] == metric.bounds
        assert metric.name in TASK_METRICS[metric.task]
    with pytest.raises(ValueError, match=r"unknown metric 'rmsee' \(did you mean 'rmse'\?\)"):
        METRICS.get("rmsee")
