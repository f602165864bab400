"""Is the model's uncertainty honest? Calibration of predicted spreads and probabilities.

Regression
    A model that returns ``(mean, std)`` claims that ``y ~ N(mean, std**2)``. We measure how true
    that is (interval coverage, miscalibration area, NLL, whether larger ``std`` goes with larger
    errors) and fix the overall scale with one factor per task fitted on validation data.

    The scale is fitted by **std-scaling** (Levi et al. 2022, "Evaluating and calibrating
    uncertainty prediction in regression tasks"; chemprop's ``zscaling`` calibrator):
    ``s = sqrt(mean((r / std)**2))``, the maximum-likelihood factor for a Gaussian, after which
    ``z = r / (s * std)`` has unit RMS. When a model has no spread of its own (``std is None``)
    every molecule gets the same ``std``; we then use the split-conformal 68.27 % quantile of
    ``|r|`` instead of the RMS, because it is robust to a few gross outliers and, for Gaussian
    errors, equals ``sigma``.

Classification
    Probabilities are checked with a reliability curve over 10 equal-width bins, the expected
    calibration error (ECE) and the Brier score.

Arrays are ``(n,)`` or ``(n, t)``; NaN marks a missing label (or a failed prediction) and the
entry is ignored. Everything here is numpy/scipy only, so ``metrics.py`` can build on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from drugforge.core.errors import InputError

#: probability mass of the central +-1 sigma interval of a Gaussian (0.6827)
ONE_SIGMA_MASS: float = float(stats.norm.cdf(1.0) - stats.norm.cdf(-1.0))
#: expected-coverage levels of the calibration curve (0.00, 0.01, ..., 1.00)
CURVE_LEVELS: np.ndarray = np.linspace(0.0, 1.0, 101)
DEFAULT_N_BINS = 10
_Z95 = float(stats.norm.ppf(0.975))
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- input checks


def _as_2d(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    return arr


def _check_same_shape(ref: np.ndarray, other: np.ndarray, ref_name: str, name: str) -> None:
    if other.shape != ref.shape:
        raise InputError(f"{name} has shape {other.shape} but {ref_name} has shape {ref.shape}")


def _task_names(target_names: Sequence[str] | None, t: int) -> list[str]:
    if target_names is None:
        return ["y"] if t == 1 else [f"task{i}" for i in range(t)]
    names = [str(n) for n in target_names]
    if len(names) != t:
        raise InputError(f"{len(names)} target names given for {t} task column(s)")
    return names


def _macro(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation; NaN when undefined (fewer than 2 points or a constant input)."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    ra = stats.rankdata(a)
    rb = stats.rankdata(b)
    return float(np.corrcoef(ra, rb)[0, 1])


# --------------------------------------------------------------------------- std scaling


def conformal_quantile(scores: Any, level: float) -> float:
    """Split-conformal quantile: the ``ceil((n + 1) * level)``-th smallest of ``n`` scores
    (the largest when that rank exceeds ``n``); NaN scores are ignored.

    The finite-sample correction makes ``[-q, q]`` cover a new exchangeable score with
    probability at least ``level``.
    """
    arr = np.asarray(scores, dtype=np.float64).reshape(-1)
    arr = np.sort(arr[np.isfinite(arr)])
    n = arr.size
    if n == 0:
        return float("nan")
    rank = min(n, math.ceil((n + 1) * level))
    return float(arr[max(rank, 1) - 1])


def _fit_scale_1d(r: np.ndarray, s: np.ndarray | None) -> float:
    if s is None:
        ok = np.isfinite(r)
        return conformal_quantile(np.abs(r[ok]), ONE_SIGMA_MASS) if ok.sum() >= 2 else math.nan
    ok = np.isfinite(r) & np.isfinite(s) & (s > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.sqrt(np.mean((r[ok] / s[ok]) ** 2)))


def fit_std_scale(residuals: Any, std: Any = None) -> float:
    """Fit the std scale factor of one task on held-out (validation) data.

    Parameters
    ----------
    residuals
        ``y - mean`` on molecules the model was not fitted on, ``(n,)``; NaN entries ignored.
    std
        The model's predicted std, ``(n,)``, or ``None`` for a model without a spread.

    Returns
    -------
    float
        With ``std``: ``s = sqrt(mean((r / std)**2))``; the calibrated spread is ``s * std``.
        Without: the split-conformal 68.27 % quantile of ``|r|``, to be used as a constant std.
        NaN when fewer than 2 usable points remain (the uncertainty is then unknown). Entries
        with ``std <= 0`` carry no scale information and are skipped.
    """
    r = _as_2d(residuals, "residuals")
    if r.shape[1] != 1:
        raise InputError(
            f"fit_std_scale takes one task, got residuals of shape {r.shape}; use fit_std_scales"
        )
    s = None if std is None else _as_2d(std, "std")
    if s is not None:
        _check_same_shape(r, s, "residuals", "std")
    return _fit_scale_1d(r[:, 0], None if s is None else s[:, 0])


def fit_std_scales(residuals: Any, std: Any = None) -> np.ndarray:
    """:func:`fit_std_scale` for every column of ``(n, t)`` residuals (and std); shape ``(t,)``."""
    r = _as_2d(residuals, "residuals")
    s = None if std is None else _as_2d(std, "std")
    if s is not None:
        _check_same_shape(r, s, "residuals", "std")
    return np.array(
        [_fit_scale_1d(r[:, j], None if s is None else s[:, j]) for j in range(r.shape[1])],
        dtype=np.float64,
    )


def apply_std_scale(
    scale: Any, std: Any = None, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Return the calibrated std: ``scale * std``, or ``scale`` broadcast to ``shape`` when
    ``std`` is None (``shape`` is then ``(n, t)`` or ``(n,)``). ``scale`` is a float or the
    ``(t,)`` array of :func:`fit_std_scales`."""
    sc = np.asarray(scale, dtype=np.float64).reshape(-1)
    if std is not None:
        arr = np.asarray(std, dtype=np.float64)
        if arr.ndim == 1:
            if sc.size != 1:
                raise InputError(f"{sc.size} scale factors for a 1-D std")
            scaled: np.ndarray = arr * sc[0]
            return scaled
        if arr.ndim != 2 or arr.shape[1] != sc.size:
            raise InputError(f"std of shape {arr.shape} does not match {sc.size} scale factor(s)")
        return arr * sc[None, :]
    if shape is None:
        raise InputError("apply_std_scale needs the output shape when std is None")
    if len(shape) == 1:
        if sc.size != 1:
            raise InputError(f"{sc.size} scale factors for a 1-D output")
        return np.full(shape, sc[0])
    if len(shape) != 2 or shape[1] != sc.size:
        raise InputError(f"shape {shape} does not match {sc.size} scale factor(s)")
    return np.broadcast_to(sc[None, :], shape).copy()


# --------------------------------------------------------------------------- regression


def gaussian_nll(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Mean Gaussian negative log-likelihood (natural log, per point) over finite entries."""
    ok = np.isfinite(y) & np.isfinite(mean) & np.isfinite(std) & (std > 0)
    if not ok.any():
        return float("nan")
    var = std[ok] ** 2
    return float(np.mean(0.5 * (_LOG_2PI + np.log(var)) + (y[ok] - mean[ok]) ** 2 / (2.0 * var)))


def coverage_curve(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray, levels: np.ndarray = CURVE_LEVELS
) -> np.ndarray:
    """Observed fraction of ``y`` inside the central Gaussian interval of each expected level."""
    ok = np.isfinite(y) & np.isfinite(mean) & np.isfinite(std) & (std >= 0)
    if not ok.any():
        return np.full(len(levels), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(y[ok] - mean[ok]) / std[ok]
    z = np.where(np.isnan(z), 0.0, z)  # 0/0: exact prediction with zero spread lies inside
    half_width = stats.norm.ppf(0.5 + np.asarray(levels) / 2.0)  # +inf at level 1
    z_sorted = np.sort(z)
    inside = np.searchsorted(z_sorted, half_width, side="right")
    fraction: np.ndarray = inside / z.size
    return fraction


def miscalibration_area(expected: np.ndarray, observed: np.ndarray) -> float:
    """Area between the observed coverage curve and the diagonal (0 = perfect, 0.5 = worst)."""
    if not np.isfinite(observed).all():
        return float("nan")
    gap = np.abs(np.asarray(observed, dtype=np.float64) - np.asarray(expected, dtype=np.float64))
    # trapezoid rule written out: np.trapezoid is numpy >= 2 only
    return float(np.sum(0.5 * (gap[1:] + gap[:-1]) * np.diff(expected)))


def _regression_calibration_task(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> dict[str, Any]:
    ok = np.isfinite(y) & np.isfinite(mean) & np.isfinite(std) & (std >= 0)
    n = int(ok.sum())
    if n == 0:
        nan = float("nan")
        return {
            "n": 0,
            "coverage_68": nan,
            "coverage_95": nan,
            "miscalibration_area": nan,
            "spearman_err_std": nan,
            "nll": nan,
            "z_rms": nan,
            "curve": {"expected": CURVE_LEVELS.tolist(), "observed": [nan] * len(CURVE_LEVELS)},
        }
    yk, mk, sk = y[ok], mean[ok], std[ok]
    err = np.abs(yk - mk)
    observed = coverage_curve(yk, mk, sk)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(err == 0, 0.0, err / sk)  # an exact hit is no surprise, whatever its spread
    z_rms = float(np.sqrt(np.mean(z**2)))
    return {
        "n": n,
        "coverage_68": float(np.mean(err <= sk)),
        "coverage_95": float(np.mean(err <= _Z95 * sk)),
        "miscalibration_area": miscalibration_area(CURVE_LEVELS, observed),
        "spearman_err_std": _rank_corr(err, sk),
        "nll": gaussian_nll(yk, mk, sk),
        "z_rms": z_rms,
        "curve": {"expected": CURVE_LEVELS.tolist(), "observed": observed.tolist()},
    }


def calibration_report(
    y: Any, mean: Any, std: Any, *, target_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Calibration of a regression model's Gaussian predictive distribution.

    Returns a JSON-ready dict::

        {"kind": "regression",
         "overall": {coverage_68, coverage_95, miscalibration_area, spearman_err_std, nll, z_rms},
         "per_task": {name: {n, the same keys, "curve": {"expected": [...], "observed": [...]}}},
         "notes": [...]}

    ``coverage_68`` / ``coverage_95``: fraction of labels inside ``mean +- 1 std`` /
    ``mean +- 1.96 std`` (ideal 0.683 / 0.95). ``miscalibration_area``: area between observed and
    expected coverage over all levels. ``spearman_err_std``: rank correlation of ``|error|`` with
    ``std`` (do bigger spreads flag bigger errors?). ``nll``: mean Gaussian NLL. ``z_rms``:
    RMS of ``error / std`` (ideal 1; above 1 means over-confident). ``overall`` is the mean over
    tasks. Entries with a NaN label, mean or std are ignored.
    """
    yy = _as_2d(y, "y")
    mm = _as_2d(mean, "mean")
    ss = _as_2d(std, "std")
    _check_same_shape(yy, mm, "y", "mean")
    _check_same_shape(yy, ss, "y", "std")
    if np.any(ss[np.isfinite(ss)] < 0):
        raise InputError("std must be non-negative")
    names = _task_names(target_names, yy.shape[1])
    per_task: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for j, name in enumerate(names):
        row = _regression_calibration_task(yy[:, j], mm[:, j], ss[:, j])
        if row["n"] == 0:
            notes.append(f"{name}: no labelled rows with a prediction; calibration not measured")
        elif row["n"] < 20:
            notes.append(f"{name}: calibration from only {row['n']} points is very uncertain")
        if row["n"] >= 2 and math.isnan(row["spearman_err_std"]):
            notes.append(
                f"{name}: std (or the error) is the same for every molecule; "
                "spearman_err_std not defined"
            )
        per_task[name] = row
    keys = ("coverage_68", "coverage_95", "miscalibration_area", "spearman_err_std", "nll", "z_rms")
    overall = {k: _macro([row[k] for row in per_task.values()]) for k in keys}
    return {"kind": "regression", "overall": overall, "per_task": per_task, "notes": notes}


# --------------------------------------------------------------------------- classification


def _check_binary(y: np.ndarray, p: np.ndarray) -> None:
    yl = y[np.isfinite(y)]
    if yl.size and not np.all((yl == 0) | (yl == 1)):
        bad = sorted(set(np.unique(yl[(yl != 0) & (yl != 1)]).tolist()))[:5]
        raise InputError(f"classification labels must be 0 or 1 (NaN = missing); found {bad}")
    pf = p[np.isfinite(p)]
    if pf.size and (pf.min() < 0.0 or pf.max() > 1.0):
        raise InputError(
            f"predicted probabilities must lie in [0, 1]; found values in "
            f"[{pf.min():.4g}, {pf.max():.4g}] (were logits or class labels passed?)"
        )


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    # Equal-width bins [0, 1/B), ..., [(B-1)/B, 1]; p == 1 falls into the last bin.
    bins: np.ndarray = np.clip(np.floor(p * n_bins).astype(np.int64), 0, n_bins - 1)
    return bins


def reliability_curve(
    y_true: Any, p_pred: Any, n_bins: int = DEFAULT_N_BINS
) -> dict[str, list[float]]:
    """Reliability diagram points for one task (1-D arrays; NaN entries ignored).

    Returns ``{"mean_predicted", "fraction_positive", "count"}`` for the non-empty bins of
    ``n_bins`` equal-width bins on [0, 1], in increasing order of probability.
    """
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(p_pred, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise InputError(f"p_pred has shape {p.shape} but y_true has shape {y.shape}")
    if n_bins < 1:
        raise InputError(f"n_bins must be at least 1, got {n_bins}")
    _check_binary(y, p)
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    idx = _bin_index(p, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    nz = count > 0
    return {
        "mean_predicted": (sum_p[nz] / count[nz]).tolist(),
        "fraction_positive": (sum_y[nz] / count[nz]).tolist(),
        "count": count[nz].astype(float).tolist(),
    }


def expected_calibration_error(y_true: Any, p_pred: Any, n_bins: int = DEFAULT_N_BINS) -> float:
    """ECE = sum over bins of (bin share) * |mean predicted - fraction positive|; NaN if empty."""
    curve = reliability_curve(y_true, p_pred, n_bins)
    count = np.asarray(curve["count"])
    if count.sum() == 0:
        return float("nan")
    gap = np.abs(np.asarray(curve["mean_predicted"]) - np.asarray(curve["fraction_positive"]))
    return float(np.sum(count * gap) / count.sum())


def classification_calibration_report(
    y_true: Any,
    p_pred: Any,
    *,
    target_names: Sequence[str] | None = None,
    n_bins: int = DEFAULT_N_BINS,
) -> dict[str, Any]:
    """Calibration of predicted probabilities, per task and averaged over tasks.

    Returns ``{"kind": "classification", "n_bins", "overall": {ece, brier},
    "per_task": {name: {n, ece, brier, "curve": reliability_curve(...)}}, "notes"}``.
    """
    yy = _as_2d(y_true, "y_true")
    pp = _as_2d(p_pred, "p_pred")
    _check_same_shape(yy, pp, "y_true", "p_pred")
    _check_binary(yy, pp)
    names = _task_names(target_names, yy.shape[1])
    per_task: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for j, name in enumerate(names):
        ok = np.isfinite(yy[:, j]) & np.isfinite(pp[:, j])
        yj, pj = yy[ok, j], pp[ok, j]
        n = int(ok.sum())
        if n == 0:
            notes.append(f"{name}: no labelled rows with a prediction; calibration not measured")
        curve = reliability_curve(yj, pj, n_bins)
        per_task[name] = {
            "n": n,
            "ece": expected_calibration_error(yj, pj, n_bins),
            "brier": float(np.mean((pj - yj) ** 2)) if n else float("nan"),
            "curve": curve,
        }
    overall = {k: _macro([row[k] for row in per_task.values()]) for k in ("ece", "brier")}
    return {
        "kind": "classification",
        "n_bins": n_bins,
        "overall": overall,
        "per_task": per_task,
        "notes": notes,
    }


def task_calibration_report(
    task: str,
    y_true: Any,
    y_pred: Any,
    y_std: Any = None,
    *,
    target_names: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """The calibration report that fits ``task``.

    Regression: :func:`calibration_report` of ``(y_pred, y_std)``, or None without ``y_std``
    (a point prediction claims no uncertainty to check). Classification:
    :func:`classification_calibration_report` of the probabilities ``y_pred`` (``y_std`` unused).
    """
    if task == "regression":
        if y_std is None:
            return None
        return calibration_report(y_true, y_pred, y_std, target_names=target_names)
    if task == "classification":
        return classification_calibration_report(y_true, y_pred, target_names=target_names)
    raise InputError(f"unknown task '{task}'; choose from: regression, classification")
