"""Concordance index, MSE and r_m^2 (the DTA benchmark metrics) and their registry entries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drugforge.core.errors import InputError
from drugforge.core.evaluation.concordance import concordance_index, mse, rm2
from drugforge.core.evaluation.gate import (
    check_requirements,
    parse_requirements,
    validate_requirements,
)
from drugforge.core.evaluation.metric_registry import METRICS
from drugforge.core.evaluation.metrics import REGRESSION_METRICS, compute_metrics


def _brute_ci(y: np.ndarray, p: np.ndarray) -> float:
    """DeepDTA's definition, pair by pair."""
    num = den = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] > y[j]:
                den += 1
                num += 1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0
    return num / den if den else math.nan


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 33, 100, 257])
def test_ci_matches_brute_force_with_ties(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(10):
        # few distinct values, so ties in y, in p and in both are common
        y = rng.integers(0, 4, n).astype(np.float64)
        p = rng.integers(0, 5, n).astype(np.float64) * 0.5
        expected = _brute_ci(y, p)
        got = concordance_index(y, p)
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(expected, abs=1e-12)


def test_ci_matches_brute_force_continuous() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    p = y + rng.normal(size=300)
    assert concordance_index(y, p) == pytest.approx(_brute_ci(y, p), abs=1e-12)


def test_ci_special_cases() -> None:
    y = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert concordance_index(y, 2 * y + 1) == 1.0  # perfect ranking
    assert concordance_index(y, -y) == 0.0  # reversed
    assert concordance_index(y, np.full(5, 7.0)) == 0.5  # no information
    assert math.isnan(concordance_index(np.full(4, 2.0), [1.0, 2.0, 3.0, 4.0]))  # no pair
    assert math.isnan(concordance_index([1.0], [1.0]))
    assert math.isnan(concordance_index([], []))
    assert concordance_index([1.0, 2.0], [0.0, 1.0]) == 1.0
    # two comparable pairs (the 1.0 labels tie): one ranked right, one predicted tied
    assert concordance_index([1.0, 1.0, 2.0], [0.0, 1.0, 1.0]) == pytest.approx((1.0 + 0.5) / 2)


def test_ci_large_input_runs() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=200_000).round(2)  # rounded: many label and prediction ties
    p = (y + rng.normal(size=200_000)).round(1)
    ci = concordance_index(y, p)
    assert 0.5 < ci < 1.0


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="3 values but p has 2"):
        concordance_index([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        rm2([1.0, np.nan], [1.0, 2.0])


def _reference_rm2(y: list[float], p: list[float]) -> float:
    """Straight from DeepDTA's get_k / squared_error_zero / r_squared_error / get_rm2."""
    n = len(y)
    ym = sum(y) / n
    pm = sum(p) / n
    r2 = sum((a - ym) * (b - pm) for a, b in zip(y, p)) ** 2 / (
        sum((a - ym) ** 2 for a in y) * sum((b - pm) ** 2 for b in p)
    )
    k = sum(a * b for a, b in zip(y, p)) / sum(b * b for b in p)
    r02 = 1 - sum((a - k * b) ** 2 for a, b in zip(y, p)) / sum((a - ym) ** 2 for a in y)
    return r2 * (1 - math.sqrt(abs(r2 * r2 - r02 * r02)))


def test_rm2_known_example() -> None:
    y = [1.0, 2.0, 3.0, 4.0]
    p = [1.0, 2.0, 3.0, 5.0]
    # by hand: r2 = 6.5^2 / (5 * 8.75) = 169/175; k = 34/39, sum((y - k p)^2) = 14/39,
    # so r0^2 = 1 - (14/39) / 5 = 181/195
    r2, r02 = 169 / 175, 181 / 195
    expected = r2 * (1 - math.sqrt(abs(r2**2 - r02**2)))
    assert expected == pytest.approx(0.7083205, abs=1e-7)
    assert rm2(y, p) == pytest.approx(expected, rel=1e-12)
    assert rm2(y, p) == pytest.approx(_reference_rm2(y, p), rel=1e-12)
    rng = np.random.default_rng(3)
    yr = rng.normal(7.0, 1.0, size=50)
    pr = yr + rng.normal(0.0, 0.5, size=50)
    assert rm2(yr, pr) == pytest.approx(_reference_rm2(yr.tolist(), pr.tolist()), rel=1e-10)
    assert rm2(y, y) == pytest.approx(1.0)  # perfect predictions: r2 = r0^2 = 1
    assert math.isnan(rm2(y, [2.0] * 4))  # constant predictions
    assert math.isnan(rm2([3.0], [3.0]))


def test_mse() -> None:
    assert mse([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]) == 0.25
    assert math.isnan(mse([], []))


@pytest.mark.parametrize(
    ("name", "direction", "bounds"),
    [("ci", "higher", (0.0, 1.0)), ("mse", "lower", (0.0, math.inf)),
     ("rm2", "higher", (-math.inf, 1.0))],
)  # fmt: skip
def test_registered_as_regression_metrics(
    name: str, direction: str, bounds: tuple[float, float]
) -> None:
    metric = METRICS.get(name)
    assert (metric.task, metric.direction, metric.bounds) == ("regression", direction, bounds)
    assert name in REGRESSION_METRICS  # computed for every regression evaluation


def test_compute_metrics_reports_them_and_the_gate_accepts_ci() -> None:
    y = np.array([5.0, 6.2, 7.1, 8.0, 6.2, 9.3])
    p = np.array([5.5, 6.0, 7.0, 8.4, 7.2, 8.8])  # one pair out of order
    res = compute_metrics("regression", y, p, ["affinity"])
    assert res.overall["ci"] == pytest.approx(_brute_ci(y, p))
    assert res.per_task["affinity"]["mse"] == pytest.approx(float(np.mean((y - p) ** 2)))
    assert res.overall["rm2"] == pytest.approx(_reference_rm2(y.tolist(), p.tolist()))
    validate_requirements(parse_requirements("ci>=0.88, rm2>0.5"), "regression", ["affinity"])
    assert check_requirements("ci>=0.5", res).passed
    assert check_requirements(["ci>=0.5", "mse<=0.5"], res.to_dict()).passed
    assert not check_requirements("ci>0.999", res).passed
    with pytest.raises(InputError, match="not measured for classification"):
        validate_requirements(parse_requirements("ci>=0.5"), "classification", ["active"])
