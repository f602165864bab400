"""``--model auto``: choose a model by cross-validation on the training data only.

Every candidate of the pool is scored with k-fold cross-validation on the training rows. The
out-of-fold predictions are kept, so the averages of the best two and three candidates are
scored too at no extra training cost; the best of all is the choice. The test rows are never
seen here.

A candidate may be tried in several **variants** (parameter sets, e.g. with and without class
weights): each is a row of the table (``gbm``, ``gbm[balanced]``), and the better of them is kept
for that model name, so the averages of the best two and three stay keyed by model name. The
out-of-fold predictions of the choice are kept (:attr:`AutoResult.best_oof`): a probability
calibrator can be fitted on them without another fit.

Nothing here knows a modality: the caller passes the candidate names, a fold function and a
:class:`ModelFactory` that builds a model from a registry name (molecules:
:mod:`drugforge.molecules.selection.auto`). The averages are specs of the registry's
``ensemble`` model, which must accept ``members`` and ``member_params``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from drugforge.core.dataset import Dataset
from drugforge.core.evaluation.metrics import METRIC_DIRECTIONS, compute_metrics, primary_metric
from drugforge.core.evaluation.target_transform import forward, inverse
from drugforge.core.registry import Registry
from drugforge.core.splits import Split

if TYPE_CHECKING:  # the report module behind fit.py imports matplotlib; selection needs none
    from drugforge.core.evaluation.fit import FitPredictor

__all__ = [
    "ENSEMBLE",
    "AutoResult",
    "CVRow",
    "FoldFunction",
    "Log",
    "ModelBuilder",
    "ModelFactory",
    "ModelSpec",
    "Variants",
    "better",
    "cross_validate",
    "score_predictions",
    "select_model",
]

#: the registry name of the model that averages its members (the best-two/three candidates)
ENSEMBLE = "ensemble"

#: where progress lines go (the workflow's logger); None keeps quiet
Log = Callable[[str], None] | None
#: the training data -> its cross-validation folds (a modality's k-fold with its grouping)
FoldFunction = Callable[[Any], list[Split]]
#: candidate name -> the parameter sets to cross-validate it with (``{}``: its plain parameters);
#: a name not listed is tried once, as given
Variants = Mapping[str, Sequence[dict[str, Any]]]


class ModelBuilder(Protocol):
    """Builds the model registered under ``name`` for ``task`` with ``params``."""

    def __call__(self, name: str, task: Any, **params: Any) -> FitPredictor: ...


@dataclass(frozen=True)
class ModelFactory:
    """How selection turns registry names into models: ``build(name, task, **params)``, and the
    constructor parameters of a name (``seed`` is passed only to models that take one)."""

    build: ModelBuilder
    param_names: Callable[[str], set[str]]

    @classmethod
    def from_registry(cls, registry: Registry[Any]) -> ModelFactory:
        """Models as a registry of classes builds them: ``cls(task=task, **params)``."""

        def build(name: str, task: Any, **params: Any) -> FitPredictor:
            model: FitPredictor = registry.get(name)(task=task, **params)
            return model

        def param_names(name: str) -> set[str]:
            return set(inspect.signature(registry.get(name).__init__).parameters)

        return cls(build=build, param_names=param_names)

    def with_seed(self, name: str, params: dict[str, Any], seed: int) -> dict[str, Any]:
        """``params`` plus ``seed`` when the model takes one and ``params`` does not set it."""
        out = dict(params)
        if "seed" in self.param_names(name):
            out.setdefault("seed", seed)
        return out


@dataclass
class ModelSpec:
    """A model to build: a registry name and its parameters (an ensemble names its members).

    ``variant`` holds the parameters of a variant tried by selection (already in ``params``); it
    only names the spec: ``gbm[balanced]``.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    variant: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.name == ENSEMBLE:
            return "ensemble(" + "+".join(self.params.get("members", ())) + ")"
        if self.variant:
            tags = (v if isinstance(v, str) else f"{k}={v}" for k, v in self.variant.items())
            return f"{self.name}[{','.join(tags)}]"
        return self.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params}


@dataclass
class CVRow:
    spec: ModelSpec
    score: float  # primary metric over the pooled out-of-fold predictions
    fold_scores: list[float]
    seconds: float
    #: (n, t) out-of-fold predictions on the model's scale (log10 under a target transform)
    oof: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.spec.describe(),
            "score": self.score,
            "fold_mean": float(np.nanmean(self.fold_scores)) if self.fold_scores else float("nan"),
            "fold_sd": float(np.nanstd(self.fold_scores)) if self.fold_scores else float("nan"),
            "seconds": self.seconds,
        }


@dataclass
class AutoResult:
    best: ModelSpec
    metric: str
    rows: list[CVRow]
    best_oof: np.ndarray | None = field(default=None, repr=False)  # the choice's OOF predictions

    def table(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.rows]


def score_predictions(
    task: str,
    metric: str,
    y: np.ndarray,
    pred: np.ndarray,
    target_transform: dict[str, Any] | None = None,
) -> float:
    """``metric`` of ``pred`` against ``y`` over all targets (NaN when undefined); ``pred`` on the
    model's scale under ``target_transform`` is scored back in the target's units."""
    pred = inverse(target_transform, pred)[0]
    result = compute_metrics(task, y, pred, [f"t{i}" for i in range(y.shape[1])])
    return float(result.overall.get(metric, float("nan")))


def select_model(
    train: Dataset,
    pool: Sequence[str],
    make_folds: FoldFunction,
    models: ModelFactory,
    *,
    seed: int = 0,
    model_params: dict[str, dict[str, Any]] | None = None,
    variants: Variants | None = None,
    target_transform: dict[str, Any] | None = None,
    log: Log = None,
) -> AutoResult:
    """Cross-validate each candidate of ``pool`` (in each of its ``variants``) over the folds
    ``make_folds(train)``; return the best spec with the table (the averages of the best two and
    three model names included) and the best spec's out-of-fold predictions.

    Under ``target_transform`` every fold is fitted on the transformed labels; the out-of-fold
    predictions stay on the model's scale (the best-two/three averages are taken there, as the
    ``ensemble`` model averages its members) and are scored in the target's units."""
    tt = target_transform
    task = train.task
    metric = primary_metric(task)
    higher_better = METRIC_DIRECTIONS[metric] == "higher"
    folds = make_folds(train)
    y = train.y

    def sort_key(row: CVRow) -> float:
        s = row.score if np.isfinite(row.score) else (-np.inf if higher_better else np.inf)
        return -s if higher_better else s

    rows: list[CVRow] = []
    kept: dict[str, CVRow] = {}  # the better variant of each model name
    oof: dict[str, np.ndarray] = {}  # its out-of-fold predictions
    for name in pool:
        base = models.with_seed(name, (model_params or {}).get(name, {}), seed)
        for variant in (variants or {}).get(name) or [{}]:
            spec = ModelSpec(name, {**base, **variant}, dict(variant))
            pred, fold_scores, seconds = cross_validate(train, spec, folds, metric, models, tt)
            row = CVRow(spec, score_predictions(task, metric, y, pred, tt), fold_scores, seconds,
                        pred)  # fmt: skip
            rows.append(row)
            if name not in kept or sort_key(row) < sort_key(kept[name]):
                kept[name], oof[name] = row, pred
            if log is not None:
                log(f"  cv {spec.describe():<28} {metric} = {row.score:.4f}  ({seconds:.1f} s)")

    singles = sorted(kept.values(), key=sort_key)
    n_rows = len(rows)
    for top in (2, 3):
        if len(singles) < top:
            continue
        members = [row.spec.name for row in singles[:top]]
        avg = np.mean([oof[name] for name in members], axis=0)
        member_params = {row.spec.name: row.spec.params for row in singles[:top]}
        spec = ModelSpec(ENSEMBLE, {"members": members, "member_params": member_params})
        rows.append(CVRow(spec, score_predictions(task, metric, y, avg, tt), [], 0.0, avg))
        if log is not None:
            log(f"  cv {spec.describe():<28} {metric} = {rows[-1].score:.4f}  (averaged OOF)")
    averages = rows[n_rows:]
    # min keeps the first of equal scores: the plain variant before a weighted one, then pool order
    best = min([*singles, *averages], key=sort_key)
    return AutoResult(best=best.spec, metric=metric, rows=rows, best_oof=best.oof)


def cross_validate(
    train: Dataset,
    spec: ModelSpec,
    folds: list[Split],
    metric: str,
    models: ModelFactory,
    target_transform: dict[str, Any] | None = None,
) -> tuple[np.ndarray, list[float], float]:
    """Out-of-fold predictions of ``spec`` over ``folds`` (on the model's scale: fitted on the
    labels transformed by ``target_transform``), the per-fold scores (in the target's units) and
    the seconds."""
    task = train.task
    tt = target_transform
    start = time.perf_counter()
    pred = np.full(train.y.shape, np.nan)
    fold_scores = []
    for fold in folds:
        tr = train.subset(fold.train)
        model = models.build(spec.name, task, **spec.params)
        if len(fold.val):
            va = train.subset(fold.val)
            model.fit(tr.inputs, forward(tt, tr.y), va.inputs, forward(tt, va.y))
        else:
            model.fit(tr.inputs, forward(tt, tr.y))
        fold_pred = model.predict(train.subset(fold.test).inputs)
        pred[fold.test] = fold_pred
        fold_scores.append(score_predictions(task, metric, train.y[fold.test], fold_pred, tt))
    return pred, fold_scores, time.perf_counter() - start


def better(metric: str, a: float, b: float) -> bool:
    """Is score ``a`` better than ``b`` for ``metric``? (NaN is never better.)"""
    if not np.isfinite(a):
        return False
    if not np.isfinite(b):
        return True
    return a > b if METRIC_DIRECTIONS[metric] == "higher" else a < b
