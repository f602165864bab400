"""Target transforms: fit a regression model on ``log10(y)`` of a heavy-tailed target, report in
the target's own units.

Volumes of distribution, half-lives and clearances span four to five orders of magnitude; with a
squared loss on the raw values a few huge values dominate the fit and molecules are ranked badly.
The recipe here says, per target, whether the model sees ``log10(y)`` (``log10``) or ``y``
(``none``); everything a user sees stays in the target's units:

* fitting: the labels are transformed (:func:`forward`), the model never knows;
* predicting: the model's mean ``mu`` (log scale) becomes ``10**mu``, its reported standard
  deviation ``s`` (log scale, after the saved uncertainty calibration, which is fitted on the log
  scale) becomes ``ln(10) * 10**mu * s`` by the delta method (:func:`inverse`);
* metrics (test, validation, cross-validation scores inside ``auto`` and ``--search``) are
  computed on the back-transformed predictions against the original labels, so numbers compare
  across transforms.

``choose_target_transform(..., requested='auto')`` picks ``log10`` for a regression target when
every labelled value is > 0 and the training values are heavy tailed: sample skewness >
:data:`SKEW_THRESHOLD` or ``max / min`` > :data:`RANGE_THRESHOLD`. Classification targets are never
transformed.

The recipe is plain JSON, saved in ``manifest.json`` under ``target_transform`` only when some
target is transformed (older models, and models without a transform, have no key and predict
exactly as before)::

    {"requested": "auto", "targets": [{"name": "y", "method": "log10", "reason": "...",
                                       "skewness": 5.1, "min": 0.04, "max": 700.0}]}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from os import PathLike
from typing import Any, Literal

import numpy as np

from drugforge.core.errors import InputError

__all__ = [
    "RANGE_THRESHOLD",
    "SKEW_THRESHOLD",
    "TARGET_TRANSFORMS",
    "TargetTransform",
    "choose_target_transform",
    "describe",
    "forward",
    "inverse",
    "is_identity",
    "methods",
]

TargetTransform = Literal["auto", "none", "log10"]
TARGET_TRANSFORMS: tuple[str, ...] = ("auto", "none", "log10")
#: ``auto`` takes log10 above this sample skewness of the raw training values ...
SKEW_THRESHOLD = 2.0
#: ... or when the largest training value is more than this many times the smallest
RANGE_THRESHOLD = 1000.0
_LN10 = math.log(10.0)
#: exponents are clipped here so that 10**mu stays finite in float64
_MAX_EXPONENT = 300.0


def _skewness(values: np.ndarray) -> float:
    """Sample skewness ``m3 / m2**1.5`` (the biased moment estimator, as ``scipy.stats.skew``)."""
    if len(values) < 3:
        return float("nan")
    d = values - values.mean()
    m2 = float(np.mean(d**2))
    return float(np.mean(d**3) / m2**1.5) if m2 > 0 else 0.0


def _target_stats(train: np.ndarray) -> dict[str, Any]:
    """What ``auto`` looked at: the labelled training values' count, range and skewness."""
    stats: dict[str, Any] = {"n": len(train)}
    if len(train):
        stats.update(min=float(train.min()), max=float(train.max()), skewness=_skewness(train))
    return stats


def _auto(train: np.ndarray, labelled: np.ndarray) -> tuple[str, str]:
    """(method, reason) for one regression target under ``auto``."""
    if len(train) < 3:
        return "none", f"{len(train)} labelled training values: too few to judge the tail"
    if labelled.min() <= 0:
        return "none", f"values <= 0 present (min {labelled.min():.4g}): log10 undefined"
    skew = _skewness(train)
    spread = float(train.max() / train.min())
    if skew > SKEW_THRESHOLD:
        return "log10", f"all values > 0, skewness {skew:.2f} > {SKEW_THRESHOLD:g}"
    if spread > RANGE_THRESHOLD:
        return "log10", f"all values > 0, max/min {spread:.3g} > {RANGE_THRESHOLD:g}"
    reason = f"skewness {skew:.2f} <= {SKEW_THRESHOLD:g}, max/min {spread:.3g} <= {RANGE_THRESHOLD:g}"
    return "none", reason


def choose_target_transform(
    task: str,
    y_train: np.ndarray,
    target_names: Sequence[str],
    requested: str = "auto",
    *,
    y_all: np.ndarray | None = None,
    source: str | PathLike[str] | None = None,
) -> dict[str, Any]:
    """The per-target recipe for ``requested`` (``auto``, ``none`` or ``log10``).

    ``y_train`` (``(n, t)``, NaN = missing) are the training labels ``auto`` judges the tail on;
    ``y_all`` (default ``y_train``) are all labels the transform will be applied to (training,
    validation and test), which must all be > 0 for ``log10``. A ``log10`` request that cannot be
    honoured (a value <= 0, classification) is one :class:`InputError` line naming ``source``
    and the target.
    """
    if requested not in TARGET_TRANSFORMS:
        raise InputError(f"unknown target transform '{requested}'; choose from: "
                         f"{', '.join(TARGET_TRANSFORMS)}", path=source)  # fmt: skip
    y_train = np.asarray(y_train, dtype=np.float64)
    y_all = y_train if y_all is None else np.asarray(y_all, dtype=np.float64)
    if task == "classification" and requested == "log10":
        raise InputError("--target-transform log10 applies to regression targets only; "
                         "this is classification data", path=source)  # fmt: skip
    targets = []
    for j, name in enumerate(target_names):
        train = y_train[np.isfinite(y_train[:, j]), j]
        labelled = y_all[np.isfinite(y_all[:, j]), j]
        stats = _target_stats(train)
        if task == "classification" or requested == "none":
            method, reason = "none", ("classification" if task == "classification" else "requested")
        elif requested == "log10":
            bad = labelled[labelled <= 0]
            if len(bad):
                raise InputError(
                    f"target '{name}' has {len(bad)} value(s) <= 0 (min {bad.min():.4g}); "
                    "--target-transform log10 needs every value > 0", path=source,
                )  # fmt: skip
            method, reason = "log10", "requested"
        else:
            method, reason = _auto(train, labelled)
        targets.append({"name": str(name), "method": method, "reason": reason, **stats})
    return {"requested": requested, "targets": targets}


def methods(recipe: dict[str, Any] | None, n_targets: int | None = None) -> list[str]:
    """The method of each target (``'none'`` for all when the recipe is empty; ``n_targets``
    checks the recipe against the predictions)."""
    targets = (recipe or {}).get("targets") or []
    if not targets:
        return ["none"] * (n_targets or 0)
    if n_targets is not None and len(targets) != n_targets:
        raise ValueError(f"target transform has {len(targets)} target(s), predictions have "
                         f"{n_targets}")  # fmt: skip
    out = []
    for target in targets:
        method = target.get("method", "none")
        if method not in {"none", "log10"}:
            raise ValueError(f"unknown target transform method {method!r}")
        out.append(str(method))
    return out


def is_identity(recipe: dict[str, Any] | None) -> bool:
    """True when no target is transformed (an empty recipe, or ``none`` for every target)."""
    return all(m == "none" for m in methods(recipe))


def forward(recipe: dict[str, Any] | None, y: np.ndarray) -> np.ndarray:
    """Labels on the model's scale: ``log10(y)`` in the ``log10`` columns (NaN stays NaN)."""
    if is_identity(recipe):
        return y
    y = np.asarray(y, dtype=np.float64)
    out = y.copy()
    for j, method in enumerate(methods(recipe, y.shape[1])):
        if method == "log10":
            col = y[:, j]
            ok = np.isfinite(col)
            if (col[ok] <= 0).any():
                raise ValueError(f"log10 target transform of a value <= 0 in column {j}")
            out[ok, j] = np.log10(col[ok])
    return out


def inverse(
    recipe: dict[str, Any] | None, mean: np.ndarray, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(mean, std)`` of the model's scale back in the target's units: ``10**mean`` and, by the
    delta method, ``ln(10) * 10**mean * std`` in the ``log10`` columns. An empty or all-``none``
    recipe returns the inputs themselves (models without a transform predict as before)."""
    if is_identity(recipe):
        return mean, std
    mean = np.asarray(mean, dtype=np.float64)
    out_mean = mean.copy()
    out_std = None if std is None else np.asarray(std, dtype=np.float64).copy()
    for j, method in enumerate(methods(recipe, mean.shape[1])):
        if method == "log10":
            out_mean[:, j] = np.power(10.0, np.clip(mean[:, j], -_MAX_EXPONENT, _MAX_EXPONENT))
            if out_std is not None:
                out_std[:, j] = _LN10 * out_mean[:, j] * out_std[:, j]
    return out_mean, out_std


def describe(recipe: dict[str, Any] | None) -> str:
    """One line for logs and reports: ``log10 for VDss; none for y2``."""
    targets = (recipe or {}).get("targets") or []
    return "; ".join(f"{t.get('method', 'none')} for {t.get('name')}" for t in targets) or "none"
