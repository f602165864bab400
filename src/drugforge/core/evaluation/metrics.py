"""Masked multi-task metrics for regression and binary classification.

Labels are ``(n, t)`` float arrays with NaN for a missing label (``(n,)`` is one task). Every
metric is computed per task over the rows labelled for that task, then macro-averaged over the
tasks where it is defined. Classification predictions are probabilities of class 1.

Conventions (matching scikit-learn where it defines the value):

- A row with a label but a NaN (or infinite) prediction, i.e. a molecule that failed, is left out
  and a note says so.
- ``r2``, ``pearson``, ``spearman``, ``rm2`` are NaN (with a note) for fewer than 2 rows or a
  constant input; ``ci`` (concordance index) is NaN when no two labels differ.
- ``roc_auc`` and ``pr_auc`` (average precision) are NaN with a note for a task with one class in
  the evaluated rows, and that task is left out of their macro mean.
- Thresholded metrics use ``p >= 0.5``. ``f1`` is 0 when it is 0/0 (``zero_division=0``),
  ``mcc`` is 0 when undefined, ``balanced_accuracy`` averages the recall of the classes present.
- ``log_loss`` clips probabilities to ``[eps, 1 - eps]`` (float64 machine epsilon).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from drugforge.core.errors import InputError
from drugforge.core.evaluation.calibration import (
    CURVE_LEVELS,
    coverage_curve,
    expected_calibration_error,
    gaussian_nll,
    miscalibration_area,
)
from drugforge.core.evaluation.metric_registry import METRICS, Direction

TaskType = Literal["regression", "classification"]

TASKS: tuple[str, ...] = ("regression", "classification")
#: the per-target metrics every task reports, in report order (computed from the registry)
REGRESSION_METRICS: tuple[str, ...] = tuple(
    m.name for m in METRICS.values() if m.task == "regression" and m.compute is not None
)
CLASSIFICATION_METRICS: tuple[str, ...] = tuple(
    m.name for m in METRICS.values() if m.task == "classification" and m.compute is not None
)
#: every metric :func:`compute_metrics` can report for a task (the optional ones need inputs:
#: ``cliff_rmse`` a ``cliff_mol`` mask, ``nll`` / ``miscalibration_area`` a predicted std)
TASK_METRICS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {task: tuple(m.name for m in METRICS.values() if m.task == task) for task in TASKS}
)
#: which way is better for each metric name (what the gate and model selection use)
METRIC_DIRECTIONS: Mapping[str, Direction] = MappingProxyType(
    {m.name: m.direction for m in METRICS.values()}
)
#: the range each metric can take (a requirement outside it can never be met)
METRIC_BOUNDS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {m.name: m.bounds for m in METRICS.values()}
)

_PRIMARY: Mapping[str, str] = MappingProxyType({"regression": "rmse", "classification": "roc_auc"})
_NAN = float("nan")


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise InputError(f"unknown task '{task}'; choose from: {', '.join(TASKS)}")


def primary_metric(task: str) -> str:
    """The metric models are selected on: ``'rmse'`` (regression) or ``'roc_auc'``."""
    _check_task(task)
    return _PRIMARY[task]


def metric_names(task: str | None = None) -> tuple[str, ...]:
    """Known metric names, for one task or all of them (registry order)."""
    if task is None:
        return tuple(METRIC_DIRECTIONS)
    _check_task(task)
    return TASK_METRICS[task]


def higher_is_better(metric: str) -> bool:
    """True when a larger value of ``metric`` is better; InputError for an unknown name."""
    try:
        return METRIC_DIRECTIONS[metric] == "higher"
    except KeyError:
        raise InputError(
            f"unknown metric '{metric}'; choose from: {', '.join(METRIC_DIRECTIONS)}"
        ) from None


# --------------------------------------------------------------------------- helpers


def _as_2d(a: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    return arr


def _pair(y_true: Any, y_pred: Any, pred_name: str) -> tuple[np.ndarray, np.ndarray]:
    yt = _as_2d(y_true, "y_true")
    yp = _as_2d(y_pred, pred_name)
    if yt.shape != yp.shape:
        raise InputError(f"{pred_name} has shape {yp.shape} but y_true has shape {yt.shape}")
    return yt, yp


def _names(target_names: Sequence[str] | None, t: int) -> list[str]:
    if target_names is None:
        return ["y"] if t == 1 else [f"task{i}" for i in range(t)]
    names = [str(n) for n in target_names]
    if len(names) != t:
        raise InputError(f"{len(names)} target name(s) given for {t} task column(s)")
    if len(set(names)) != len(names):
        raise InputError(f"target names must be unique, got {names}")
    return names


def _macro(rows: Sequence[Mapping[str, float]], keys: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in keys:
        vals = [row[key] for row in rows if key in row and math.isfinite(row[key])]
        out[key] = float(np.mean(vals)) if vals else _NAN
    return out


def _masked_pair(yt: np.ndarray, yp: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """Rows of one task with a label and a prediction; notes the labelled rows without one."""
    labelled = np.isfinite(yt)
    ok: np.ndarray = labelled & np.isfinite(yp)
    missing = int(labelled.sum() - ok.sum())
    if missing:
        notes.append(f"{name}: {missing} labelled row(s) without a finite prediction left out")
    return ok


# --------------------------------------------------------------------------- regression


def _compute(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    """One registered per-target metric of the labelled rows ``y``, ``p``."""
    compute = METRICS.get(metric).compute
    assert compute is not None
    return compute(y, p)


def _regression_task(
    yt: np.ndarray, yp: np.ndarray, name: str, notes: list[str]
) -> dict[str, float]:
    ok = _masked_pair(yt, yp, name, notes)
    y, p = yt[ok], yp[ok]
    n = int(y.size)
    row: dict[str, float] = {"n": n}
    if n == 0:
        notes.append(f"{name}: no labelled rows; regression metrics not defined")
        row.update({k: _NAN for k in REGRESSION_METRICS})
        return row
    for metric in REGRESSION_METRICS:
        row[metric] = _compute(metric, y, p)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if n < 2:
        notes.append(f"{name}: only 1 labelled row; r2, ci, rm2 and correlations not defined")
    elif ss_tot == 0.0:
        notes.append(f"{name}: all labels equal; r2, ci, rm2 and correlations not defined")
    elif np.ptp(p) == 0:
        notes.append(f"{name}: all predictions equal; rm2 and correlations not defined")
    return {k: row[k] for k in ("n", *REGRESSION_METRICS)}


def regression_metrics(
    y_true: Any, y_pred: Any, *, target_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """RMSE, MAE, R2, Spearman, Pearson, CI, MSE and r_m^2 per task and macro-averaged.

    Returns ``{"overall": {metric: macro mean}, "per_task": {name: {"n", metric...}},
    "notes": [...]}``; task names default to ``"y"`` (one task) or ``"task0"``, ``"task1"``...
    """
    yt, yp = _pair(y_true, y_pred, "y_pred")
    names = _names(target_names, yt.shape[1])
    notes: list[str] = []
    per_task = {
        name: _regression_task(yt[:, j], yp[:, j], name, notes) for j, name in enumerate(names)
    }
    return {
        "overall": _macro(list(per_task.values()), REGRESSION_METRICS),
        "per_task": per_task,
        "notes": notes,
    }


def _cliff_mask_2d(cliff_mask: Any, shape: tuple[int, int]) -> np.ndarray:
    m = np.asarray(cliff_mask)
    if m.dtype != bool:
        m = np.nan_to_num(m.astype(np.float64), nan=0.0) != 0.0
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[0] != shape[0] or m.shape[1] not in (1, shape[1]):
        raise InputError(
            f"cliff mask has shape {np.shape(cliff_mask)}; expected ({shape[0]},) or {shape}"
        )
    return np.broadcast_to(m, shape)


def _cliff_rmse_per_task(
    yt: np.ndarray, yp: np.ndarray, mask: np.ndarray
) -> list[tuple[float, int]]:
    out = []
    for j in range(yt.shape[1]):
        sel = mask[:, j] & np.isfinite(yt[:, j]) & np.isfinite(yp[:, j])
        n = int(sel.sum())
        value = float(np.sqrt(np.mean((yt[sel, j] - yp[sel, j]) ** 2))) if n else _NAN
        out.append((value, n))
    return out


def cliff_rmse(y_true: Any, y_pred: Any, cliff_mask: Any) -> float:
    """RMSE over activity-cliff compounds only (MoleculeACE ``calc_cliff_rmse``).

    ``cliff_mask`` is ``(n,)`` (or ``(n, t)``) bool / 0-1, true for a compound that takes part in
    an activity cliff. With several tasks the result is the mean over tasks that have labelled
    cliff compounds; NaN when there are none.
    """
    yt, yp = _pair(y_true, y_pred, "y_pred")
    mask = _cliff_mask_2d(cliff_mask, yt.shape)
    values = [v for v, n in _cliff_rmse_per_task(yt, yp, mask) if n]
    return float(np.mean(values)) if values else _NAN


# --------------------------------------------------------------------------- classification


def _check_binary(y: np.ndarray, p: np.ndarray) -> None:
    yl = y[np.isfinite(y)]
    if yl.size and not np.all((yl == 0) | (yl == 1)):
        bad = np.unique(yl[(yl != 0) & (yl != 1)])[:5].tolist()
        raise InputError(f"classification labels must be 0 or 1 (NaN = missing); found {bad}")
    pf = p[np.isfinite(p)]
    if pf.size and (pf.min() < 0.0 or pf.max() > 1.0):
        raise InputError(
            f"predicted probabilities must lie in [0, 1]; found values in "
            f"[{pf.min():.4g}, {pf.max():.4g}] (were logits or scores passed?)"
        )
    if np.isinf(p).any():
        raise InputError("predicted probabilities must be finite or NaN")


def _classification_task(
    yt: np.ndarray, pt: np.ndarray, name: str, notes: list[str]
) -> dict[str, float]:
    ok = _masked_pair(yt, pt, name, notes)
    y = yt[ok].astype(np.int64)
    p = pt[ok]
    n = int(y.size)
    n_pos = int(y.sum())
    row: dict[str, float] = {"n": n, "n_positive": n_pos}
    if n == 0:
        notes.append(f"{name}: no labelled rows; classification metrics not defined")
        row.update({k: _NAN for k in CLASSIFICATION_METRICS})
        return row
    if not 0 < n_pos < n:
        only = "1" if n_pos else "0"
        notes.append(
            f"{name}: only class {only} among {n} labelled row(s); roc_auc and pr_auc not "
            f"defined and left out of the mean"
        )
    for metric in CLASSIFICATION_METRICS:
        row[metric] = _compute(metric, y, p)
    return {k: row[k] for k in ("n", "n_positive", *CLASSIFICATION_METRICS)}


def classification_metrics(
    y_true: Any, p_pred: Any, *, target_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """ROC-AUC, PR-AUC (average precision), balanced accuracy, accuracy, F1, MCC, Brier and
    log loss per task and macro-averaged; ``p_pred`` holds probabilities of class 1.

    Returns ``{"overall": {metric: macro mean}, "per_task": {name: {"n", "n_positive",
    metric...}}, "notes": [...]}``.
    """
    yt, pp = _pair(y_true, p_pred, "p_pred")
    _check_binary(yt, pp)
    names = _names(target_names, yt.shape[1])
    notes: list[str] = []
    per_task = {
        name: _classification_task(yt[:, j], pp[:, j], name, notes) for j, name in enumerate(names)
    }
    return {
        "overall": _macro(list(per_task.values()), CLASSIFICATION_METRICS),
        "per_task": per_task,
        "notes": notes,
    }


# --------------------------------------------------------------------------- result


#: per-task entries that are counts (ints), not metrics
_COUNTS = frozenset({"n", "n_positive", "n_cliff"})


def _jsonable(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _from_json(value: Any) -> float:
    return _NAN if value is None else float(value)


@dataclass
class MetricsResult:
    """Metrics of one evaluation.

    ``overall``: metric -> macro mean over tasks. ``per_task``: target -> {metric: value, plus
    counts ``n`` (labelled rows used) and, for classification, ``n_positive``; ``n_cliff`` when
    cliffs were given}. ``n``: rows evaluated. ``notes``: why a value is missing or shaky.
    """

    overall: dict[str, float]
    per_task: dict[str, dict[str, float]]
    n: int
    task: str
    notes: list[str] = field(default_factory=list)

    @property
    def target_names(self) -> list[str]:
        return list(self.per_task)

    def value(self, metric: str, target: str | None = None) -> float:
        """One metric, overall or for ``target``; NaN when it was not computed."""
        source = self.overall if target is None else self.per_task.get(target, {})
        return float(source.get(metric, _NAN))

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON dict (NaN and inf become None); :meth:`from_dict` reverses it."""
        return {
            "task": self.task,
            "n": self.n,
            "overall": {k: _jsonable(v) for k, v in self.overall.items()},
            "per_task": {
                name: {
                    k: _jsonable(float(v)) if k not in _COUNTS else int(v) for k, v in row.items()
                }
                for name, row in self.per_task.items()
            },
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricsResult:
        try:
            return cls(
                overall={k: _from_json(v) for k, v in data["overall"].items()},
                per_task={
                    name: {k: int(v) if k in _COUNTS else _from_json(v) for k, v in row.items()}
                    for name, row in data["per_task"].items()
                },
                n=int(data["n"]),
                task=str(data["task"]),
                notes=[str(s) for s in data.get("notes", [])],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"not a metrics result: {exc!r}") from None


def compute_metrics(
    task: str,
    y_true: Any,
    y_pred: Any,
    target_names: Sequence[str],
    extra: Mapping[str, Any] | None = None,
    *,
    y_std: Any = None,
) -> MetricsResult:
    """All metrics for one evaluation.

    Parameters
    ----------
    task
        ``'regression'`` or ``'classification'`` (``y_pred`` then holds probabilities).
    y_true, y_pred
        ``(n, t)`` or ``(n,)``; NaN label = missing.
    target_names
        One name per task column.
    extra
        Per-row arrays aligned with ``y_true`` (``MoleculeDataset.extra``). ``"cliff_mol"``
        (``(n,)`` or ``(n, t)``, 0/1) adds ``cliff_rmse`` for regression; other keys are ignored.
    y_std
        Predicted std for regression; adds ``nll`` and ``miscalibration_area``.

    Classification always gets ``ece`` (10 bins) as well.
    """
    _check_task(task)
    yt, yp = _pair(y_true, y_pred, "y_pred")
    names = _names(target_names, yt.shape[1])
    if task == "regression":
        base = regression_metrics(yt, yp, target_names=names)
    else:
        base = classification_metrics(yt, yp, target_names=names)
    per_task: dict[str, dict[str, float]] = base["per_task"]
    overall: dict[str, float] = base["overall"]
    notes: list[str] = base["notes"]

    cliff = None if extra is None else extra.get("cliff_mol")
    if cliff is not None:
        if task != "regression":
            notes.append("cliff_mol given for a classification task; cliff_rmse not computed")
        else:
            mask = _cliff_mask_2d(cliff, yt.shape)
            for name, (value, n_cliff) in zip(names, _cliff_rmse_per_task(yt, yp, mask)):
                per_task[name]["cliff_rmse"] = value
                per_task[name]["n_cliff"] = n_cliff
                if n_cliff == 0:
                    notes.append(
                        f"{name}: no labelled activity-cliff compounds; cliff_rmse not defined"
                    )
            overall.update(_macro(list(per_task.values()), ["cliff_rmse"]))

    if y_std is not None:
        if task != "regression":
            notes.append("y_std given for a classification task; ignored")
        else:
            ys = _as_2d(y_std, "y_std")
            if ys.shape != yt.shape:
                raise InputError(f"y_std has shape {ys.shape} but y_true has shape {yt.shape}")
            for j, name in enumerate(names):
                ok = np.isfinite(yt[:, j]) & np.isfinite(yp[:, j]) & np.isfinite(ys[:, j])
                per_task[name]["nll"] = gaussian_nll(yt[ok, j], yp[ok, j], ys[ok, j])
                observed = coverage_curve(yt[ok, j], yp[ok, j], ys[ok, j])
                per_task[name]["miscalibration_area"] = miscalibration_area(CURVE_LEVELS, observed)
            overall.update(_macro(list(per_task.values()), ["nll", "miscalibration_area"]))

    if task == "classification":
        for j, name in enumerate(names):
            per_task[name]["ece"] = expected_calibration_error(yt[:, j], yp[:, j])
        overall.update(_macro(list(per_task.values()), ["ece"]))

    return MetricsResult(
        overall=overall, per_task=per_task, n=int(yt.shape[0]), task=task, notes=notes
    )
