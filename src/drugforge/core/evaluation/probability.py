"""Calibrated probabilities: a per-task map from a classifier's P(class 1) to a calibrated one.

A classifier's probabilities may be systematically off: class weights shift them toward the
minority class, boosted trees and networks are often over-confident. The recipe here is fitted
on probabilities of molecules the model did not train on (auto's out-of-fold predictions, or the
validation part) and applied at every prediction of the saved model (``manifest.json``'s
``probability_calibration``; :meth:`drugforge.core.artifacts.LoadedModel.predict`).

Methods, per task:

* ``platt``: ``P' = 1 / (1 + exp(a * logit(p) + b))`` (Platt 1999, on the logit of the model's
  probability; Platt's smoothed targets keep separable data from an infinite slope);
* ``isotonic``: the monotone step fit of scikit-learn's ``IsotonicRegression``, applied as
  linear interpolation through its points ``(x, y)`` (clipped at both ends);
* ``identity``: unchanged (too few labelled rows, one class only, or no method beat the raw
  probabilities).

``method='auto'`` cross-fits (5 stratified folds of the calibration rows, fewer when the minority
class has fewer than 5 rows) the raw probabilities,
Platt and - with at least :data:`ISOTONIC_MIN_ROWS` labelled rows, below which isotonic
regression overfits - isotonic regression, and keeps the lowest Brier score. Each task records
``brier_before`` (raw probabilities) and ``brier_after`` (the cross-fitted calibrated ones) on
the same rows, so the gain is visible. The recipe is plain JSON: no pickle.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

__all__ = [
    "CALIBRATION_METHODS",
    "ISOTONIC_MIN_ROWS",
    "MIN_ROWS",
    "CalibrationMethod",
    "apply_probability_calibration",
    "fit_platt",
    "fit_probability_calibration",
    "platt",
]

CalibrationMethod = Literal["auto", "platt", "isotonic", "none"]
CALIBRATION_METHODS: tuple[str, ...] = ("auto", "platt", "isotonic", "none")
#: isotonic regression is considered from this many labelled rows of a task (it overfits below)
ISOTONIC_MIN_ROWS = 1000
#: a task needs this many labelled rows, both classes present, to be calibrated at all
MIN_ROWS = 20
_FOLDS = 5
_EPS = 1e-7  # logit(p) of p clipped to [eps, 1 - eps]: a probability of exactly 0 or 1 stays finite


def platt(f: np.ndarray, a: float, b: float) -> np.ndarray:
    """``1 / (1 + exp(a f + b))`` without overflow."""
    z = a * np.asarray(f, dtype=np.float64) + b
    out = np.empty_like(z)
    pos = z >= 0
    ez = np.exp(-z[pos])
    out[pos] = ez / (1.0 + ez)
    out[~pos] = 1.0 / (1.0 + np.exp(z[~pos]))
    return out


def fit_platt(f: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt (1999) sigmoid ``P(1|f) = 1 / (1 + exp(a f + b))`` fitted by maximum likelihood.

    Uses Platt's smoothed targets (``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``) so separable
    data does not drive the slope to infinity.
    """
    f = np.asarray(f, dtype=np.float64)
    y = np.asarray(y)
    n_pos = float((y == 1).sum())
    n_neg = float(len(y) - n_pos)
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = w[0] * f + w[1]
        # -log P(1) = log(1 + e^z); -log P(0) = log(1 + e^-z) = log(1 + e^z) - z
        loss = float(np.sum(np.logaddexp(0.0, z) - (1.0 - t) * z))
        dz = t - platt(f, w[0], w[1])  # d loss / d z = (1 - P(1)) - (1 - t) = t - P(1)
        return loss, np.array([np.sum(dz * f), np.sum(dz)])

    w0 = np.array([0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))])
    res = minimize(nll, w0, jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(q) - np.log1p(-q)  # type: ignore[no-any-return]


def _fit(method: str, p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """The fitted map of one task as its JSON recipe."""
    if method == "platt":
        a, b = fit_platt(_logit(p), y)
        return {"method": "platt", "a": a, "b": b}
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(p, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(),
                "y": iso.y_thresholds_.tolist()}  # fmt: skip
    return {"method": "identity"}


def _apply(task: dict[str, Any], p: np.ndarray) -> np.ndarray:
    method = task.get("method", "identity")
    if method == "platt":
        return platt(_logit(p), float(task["a"]), float(task["b"]))
    if method == "isotonic":
        x = np.asarray(task["x"], dtype=np.float64)
        y = np.asarray(task["y"], dtype=np.float64)
        return np.asarray(np.interp(p, x, y))  # constant beyond the ends, as out_of_bounds="clip"
    if method == "identity":
        return p
    raise ValueError(f"unknown probability calibration method {method!r}")


def _brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def _cross_fitted(method: str, p: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each row calibrated by a map fitted on the other folds (an honest Brier score)."""
    if method == "identity":
        return p
    out = np.empty_like(p)
    n_minority = int(min((y == 1).sum(), (y == 0).sum()))  # >= 2, as _fit_task checks
    folds = StratifiedKFold(n_splits=min(_FOLDS, n_minority), shuffle=True, random_state=seed)
    for fit_rows, held in folds.split(p, y):
        out[held] = _apply(_fit(method, p[fit_rows], y[fit_rows]), p[held])
    return out


def _fit_task(p: np.ndarray, y: np.ndarray, method: str, seed: int) -> dict[str, Any]:
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    n = int(ok.sum())
    n_pos = int((y == 1).sum())
    base: dict[str, Any] = {"n": n, "brier_before": _brier(p, y) if n else float("nan")}
    if n < MIN_ROWS or min(n_pos, n - n_pos) < 2:
        return {"method": "identity", **base, "brier_after": base["brier_before"],
                "reason": f"{n} labelled rows ({n_pos} positive): too few to calibrate"}  # fmt: skip
    if method == "auto":
        candidates = ["identity", "platt"] + (["isotonic"] if n >= ISOTONIC_MIN_ROWS else [])
    else:
        candidates = [method]
    scores = {m: _brier(_cross_fitted(m, p, y, seed), y) for m in candidates}
    chosen = min(candidates, key=lambda m: scores[m])  # ties: the simpler (listed first)
    return {**_fit(chosen, p, y), **base, "brier_after": scores[chosen],
            "cv_brier": scores}  # fmt: skip


def fit_probability_calibration(
    y: Any,
    p: Any,
    *,
    method: CalibrationMethod = "auto",
    fitted_on: str = "validation",
    seed: int = 0,
) -> dict[str, Any]:
    """Fit a per-task calibration of probabilities ``p`` against 0/1 labels ``y`` (``(n, t)``,
    NaN = missing) on rows the model did not train on; returns the JSON recipe
    ``{"fitted_on", "tasks": [{"method", ..., "n", "brier_before", "brier_after"}]}``
    (``{}`` for ``method='none'``)."""
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration {method!r}; choose from: "
                         f"{', '.join(CALIBRATION_METHODS)}")  # fmt: skip
    if method == "none":
        return {}
    yy = np.asarray(y, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    yy = yy[:, None] if yy.ndim == 1 else yy
    pp = pp[:, None] if pp.ndim == 1 else pp
    if yy.shape != pp.shape:
        raise ValueError(f"labels of shape {yy.shape} but probabilities of shape {pp.shape}")
    tasks = [_fit_task(pp[:, j], yy[:, j], method, seed) for j in range(yy.shape[1])]
    return {"fitted_on": fitted_on, "requested": method, "tasks": tasks}


def apply_probability_calibration(recipe: dict[str, Any] | None, p: np.ndarray) -> np.ndarray:
    """Calibrated ``(n, t)`` probabilities; an empty recipe (models saved before calibration
    existed, or ``none``) returns ``p`` unchanged. NaN stays NaN."""
    tasks = (recipe or {}).get("tasks")
    if not tasks:
        return p
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(tasks):
        raise ValueError(f"probability calibration has {len(tasks)} task(s), predictions have "
                         f"shape {p.shape}")  # fmt: skip
    out = p.copy()
    for j, task in enumerate(tasks):
        ok = np.isfinite(p[:, j])
        out[ok, j] = _apply(task, p[ok, j])
    return out
