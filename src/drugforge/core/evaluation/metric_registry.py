"""The metrics registry: each metric once, with its task, direction, range and definition.

:func:`drugforge.core.evaluation.metrics.compute_metrics` computes a task's per-target metrics
from here (over the labelled rows of one target), the acceptance gate and model selection read
the direction and range, reports the description. A new metric (a later modality's entity F1,
a survival model's concordance) is one :class:`Metric` added with ``METRICS.add``.

Per-row definitions take ``y`` (labels) and ``p`` (predictions: values, or P(class 1)) of the
rows labelled for one target, float64, already masked. ``compute`` is ``None`` for metrics that
need other inputs (``cliff_rmse``: a cliff mask; ``nll``, ``miscalibration_area``, ``ece``: a
predicted spread or calibration bins); they are computed in :mod:`~drugforge.core.evaluation.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from drugforge.core.evaluation.concordance import concordance_index, mse, rm2
from drugforge.core.registry import Registry

__all__ = ["METRICS", "Direction", "Metric", "pearson"]

Direction = Literal["higher", "lower"]
_NAN = float("nan")


@dataclass(frozen=True)
class Metric:
    """One metric: name, task kind, which way is better, the range it can take, definition."""

    name: str
    task: str  # "regression" | "classification"
    direction: Direction
    bounds: tuple[float, float]
    description: str
    compute: Callable[[np.ndarray, np.ndarray], float] | None = None


METRICS: Registry[Metric] = Registry("metric")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r clipped to [-1, 1]; NaN for fewer than 2 rows or a constant input."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return _NAN
    return float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))


# ------------------------------------------------------------------------------ regression
def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if y.size < 2 or ss_tot == 0.0:
        return _NAN
    return 1.0 - float(np.sum((y - p) ** 2)) / ss_tot


def _spearman(y: np.ndarray, p: np.ndarray) -> float:
    return pearson(stats.rankdata(y), stats.rankdata(p)) if y.size >= 2 else _NAN


# -------------------------------------------------------------------------- classification
def _both_classes(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < y.size


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y.astype(np.int64), p)) if _both_classes(y) else _NAN


def _pr_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(average_precision_score(y.astype(np.int64), p)) if _both_classes(y) else _NAN


def _confusion(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float, float]:
    """(tp, tn, fp, fn) at the threshold ``p >= 0.5``."""
    hard = p >= 0.5
    pos = y.astype(np.int64) == 1
    return (float(np.sum(hard & pos)), float(np.sum(~hard & ~pos)),
            float(np.sum(hard & ~pos)), float(np.sum(~hard & pos)))  # fmt: skip


def _balanced_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    tp, tn, fp, fn = _confusion(y, p)
    n_pos = int(y.astype(np.int64).sum())
    recalls = [tp / (tp + fn)] if n_pos else []
    if n_pos < y.size:
        recalls.append(tn / (tn + fp))
    return float(np.mean(recalls))


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    tp, tn, _, _ = _confusion(y, p)
    return (tp + tn) / int(y.size)


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    tp, _, fp, fn = _confusion(y, p)
    denom = 2 * tp + fp + fn
    return 2 * tp / denom if denom else 0.0


def _mcc(y: np.ndarray, p: np.ndarray) -> float:
    tp, tn, fp, fn = _confusion(y, p)
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / denom if denom else 0.0


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y.astype(np.int64)) ** 2))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    yi = y.astype(np.int64)
    eps = np.finfo(np.float64).eps
    pc = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(yi * np.log(pc) + (1 - yi) * np.log(1.0 - pc)))


_INF = math.inf
# a table: one metric per entry reads better than one argument per line
# fmt: off
for _metric in (
    Metric("rmse", "regression", "lower", (0.0, _INF), "root-mean-square error", _rmse),
    Metric("mae", "regression", "lower", (0.0, _INF), "mean absolute error", _mae),
    Metric("r2", "regression", "higher", (-_INF, 1.0), "coefficient of determination", _r2),
    Metric("spearman", "regression", "higher", (-1.0, 1.0), "Spearman rank correlation",
           _spearman),
    Metric("pearson", "regression", "higher", (-1.0, 1.0), "Pearson correlation", pearson),
    Metric("ci", "regression", "higher", (0.0, 1.0),
           "concordance index (pairs with different labels; prediction ties count half)",
           concordance_index),
    Metric("mse", "regression", "lower", (0.0, _INF), "mean squared error", mse),
    Metric("rm2", "regression", "higher", (-_INF, 1.0),
           "r_m^2 of Roy et al. as DeepDTA computes it (get_rm2)", rm2),
    Metric("cliff_rmse", "regression", "lower", (0.0, _INF),
           "RMSE over activity-cliff molecules (MoleculeACE)"),
    Metric("nll", "regression", "lower", (-_INF, _INF),
           "Gaussian negative log-likelihood of the predicted mean and std"),
    Metric("miscalibration_area", "regression", "lower", (0.0, 0.5),
           "area between the observed and ideal coverage curves"),
    Metric("roc_auc", "classification", "higher", (0.0, 1.0), "area under the ROC curve",
           _roc_auc),
    Metric("pr_auc", "classification", "higher", (0.0, 1.0),
           "average precision (area under the precision-recall curve)", _pr_auc),
    Metric("balanced_accuracy", "classification", "higher", (0.0, 1.0),
           "mean recall of the classes present, p >= 0.5", _balanced_accuracy),
    Metric("accuracy", "classification", "higher", (0.0, 1.0), "accuracy, p >= 0.5", _accuracy),
    Metric("f1", "classification", "higher", (0.0, 1.0), "F1 of class 1, p >= 0.5 (0 for 0/0)",
           _f1),
    Metric("mcc", "classification", "higher", (-1.0, 1.0),
           "Matthews correlation, p >= 0.5 (0 when undefined)", _mcc),
    Metric("brier", "classification", "lower", (0.0, 1.0), "Brier score", _brier),
    Metric("log_loss", "classification", "lower", (0.0, _INF),
           "log loss, probabilities clipped to [eps, 1 - eps]", _log_loss),
    Metric("ece", "classification", "lower", (0.0, 1.0), "expected calibration error"),
):
    METRICS.add(_metric, name=_metric.name, description=_metric.description)
# fmt: on
