"""How a model's raw spread becomes the reported standard deviation.

Uncertainty policy (written once, used by train, evaluate and predict):

* regression, model with native spread (GP, ensemble): ``std = scale_t * native_std``, where the
  per-target ``scale_t`` is fitted on the validation molecules so that standardized residuals have
  unit RMS;
* regression, model without native spread (SVM, GBM, single network): a constant per-target
  ``std_t`` estimated from the validation residuals (split-conformal style);
* classification: the members' spread of the probability when the model is an ensemble, else the
  Bernoulli standard deviation ``sqrt(p (1 - p))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from drugforge.core.evaluation.calibration import fit_std_scale

__all__ = ["apply_uncertainty", "calibrate_uncertainty"]


def calibrate_uncertainty(
    task: str, y_val: np.ndarray, mean_val: np.ndarray, std_val: np.ndarray | None
) -> dict[str, Any]:
    """Fit the uncertainty calibration on validation predictions; returns the saved recipe."""
    if task == "classification":
        return {"method": "ensemble-spread" if std_val is not None else "bernoulli"}
    scales = []
    for t in range(y_val.shape[1]):
        mask = np.isfinite(y_val[:, t])
        resid = y_val[mask, t] - mean_val[mask, t]
        raw = None if std_val is None else std_val[mask, t]
        scales.append(float(fit_std_scale(resid, raw)))  # NaN below 2 labelled molecules
    method = "native-scaled" if std_val is not None else "constant"
    return {"method": method, "scale": scales, "fitted_on": "validation"}


def apply_uncertainty(
    recipe: dict[str, Any], mean: np.ndarray, std: np.ndarray | None
) -> np.ndarray:
    """Turn raw model output into the reported per-target standard deviation (n, t)."""
    method = recipe.get("method")
    if method == "bernoulli" or (method == "ensemble-spread" and std is None):
        return np.sqrt(np.clip(mean * (1.0 - mean), 0.0, None))
    if method == "ensemble-spread":
        assert std is not None
        return std
    scale = np.asarray(recipe.get("scale", []), dtype=float)
    if scale.shape != (mean.shape[1],):
        return np.full_like(mean, np.nan)
    if method == "native-scaled" and std is not None:
        scaled: np.ndarray = std * scale[None, :]
        return scaled
    return np.broadcast_to(scale[None, :], mean.shape).copy()
