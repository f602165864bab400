"""``--model auto``: choose a model by cross-validation on the training data only.

Every candidate of the pool is scored with k-fold cross-validation on the training rows. The
out-of-fold predictions are kept, so the averages of the best two and three candidates are
scored too at no extra training cost; the best of all is the choice. The test rows are never
seen here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.data.splits import Split, kfold
from drugforge.core.evaluation.metrics import METRIC_DIRECTIONS, compute_metrics, primary_metric
from drugforge.molecules.models import build_model, model_param_names
from drugforge.molecules.models.base import TaskType
from drugforge.molecules.models.shipped import shipped_generators

#: default candidates. The kernel models and boosted trees cross-validate in seconds on a
#: thousand molecules and were the most accurate on MoleculeACE, ESOL and FreeSolv
#: (docs/benchmarks.md); the networks (``mlp``, ``mpnn``) cost 10-100x more per fold, so for
#: regression they join only when named in ``--auto-pool``. For multi-task classification one
#: network serves all tasks at once, so the MLP is in the default pool there.
#: The GP is exact (O(n^3)), so it only joins below ``GP_MAX_TRAIN`` molecules.
DEFAULT_POOL: dict[str, tuple[str, ...]] = {
    "regression": ("svm", "gp", "gbm"),
    "classification": ("svm", "gbm", "mlp"),
}
GP_MAX_TRAIN = 6000
#: the pretrained chemical language model joins the default pools as its cheap frozen variant
#: (the encoder's vectors are computed once, only small heads train) when a pretrained
#: ``chem-lm`` is shipped with drugforge, and only for training sets of at most this many
#: molecules: pretraining is meant to pay on small data, and on MoleculeACE's larger sets its
#: cross-validation tripled auto's time without once being chosen (docs/benchmarks.md, 1c)
CHEMLM_MAX_TRAIN = 1000
CHEMLM_NAME = "chem-lm"


@dataclass
class ModelSpec:
    """A model to build: a registry name and its parameters (an ensemble names its members)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.name == "ensemble":
            return "ensemble(" + "+".join(self.params.get("members", ())) + ")"
        return self.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params}


@dataclass
class CVRow:
    spec: ModelSpec
    score: float  # primary metric over the pooled out-of-fold predictions
    fold_scores: list[float]
    seconds: float

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

    def table(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.rows]


def default_pool(task: TaskType, n_train: int) -> tuple[str, ...]:
    pool = DEFAULT_POOL[task]
    if n_train > GP_MAX_TRAIN:
        pool = tuple(name for name in pool if name != "gp")
    if n_train <= CHEMLM_MAX_TRAIN and CHEMLM_NAME in shipped_generators():  # shipped, frozen
        pool = (*pool, CHEMLM_NAME)
    return pool


def _score(task: TaskType, metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    result = compute_metrics(task, y, pred, [f"t{i}" for i in range(y.shape[1])])
    return float(result.overall.get(metric, float("nan")))


def select_model(
    train: MoleculeDataset,
    *,
    pool: tuple[str, ...] | None = None,
    k: int = 5,
    seed: int = 0,
    split_method: str = "random",
    model_params: dict[str, dict[str, Any]] | None = None,
    log: Any = None,
) -> AutoResult:
    """Cross-validate each candidate on ``train`` and return the best spec with the table."""
    task: TaskType = train.task  # type: ignore[assignment]
    pool = pool or default_pool(task, len(train.smiles))
    metric = primary_metric(task)
    higher_better = METRIC_DIRECTIONS[metric] == "higher"
    folds = kfold(train, k=k, method=split_method, seed=seed)
    y = train.y
    rows: list[CVRow] = []
    oof: dict[str, np.ndarray] = {}
    for name in pool:
        params = dict((model_params or {}).get(name, {}))
        if "seed" in model_param_names(name):
            params.setdefault("seed", seed)
        spec = ModelSpec(name, params)
        pred, fold_scores, seconds = cross_validate(train, spec, folds, metric)
        oof[name] = pred
        row = CVRow(spec, _score(task, metric, y, pred), fold_scores, seconds)
        rows.append(row)
        if log is not None:
            log(f"  cv {row.spec.describe():<28} {metric} = {row.score:.4f}  ({seconds:.1f} s)")

    def sort_key(row: CVRow) -> float:
        s = row.score if np.isfinite(row.score) else (-np.inf if higher_better else np.inf)
        return -s if higher_better else s

    singles = sorted(rows, key=sort_key)
    for top in (2, 3):
        if len(singles) < top:
            continue
        members = [row.spec.name for row in singles[:top]]
        avg = np.mean([oof[name] for name in members], axis=0)
        member_params = {row.spec.name: row.spec.params for row in singles[:top]}
        spec = ModelSpec("ensemble", {"members": members, "member_params": member_params})
        rows.append(CVRow(spec, _score(task, metric, y, avg), [], 0.0))
        if log is not None:
            log(f"  cv {spec.describe():<28} {metric} = {rows[-1].score:.4f}  (averaged OOF)")
    best = min(rows, key=sort_key)
    return AutoResult(best=best.spec, metric=metric, rows=rows)


def cross_validate(
    train: MoleculeDataset, spec: ModelSpec, folds: list[Split], metric: str
) -> tuple[np.ndarray, list[float], float]:
    """Out-of-fold predictions of ``spec`` over ``folds``, the per-fold scores and the seconds."""
    task: TaskType = train.task  # type: ignore[assignment]
    start = time.perf_counter()
    pred = np.full(train.y.shape, np.nan)
    fold_scores = []
    for fold in folds:
        tr = train.subset(fold.train)
        model = build_model(spec.name, task, **spec.params)
        if len(fold.val):
            va = train.subset(fold.val)
            model.fit(tr.smiles, tr.y, va.smiles, va.y)
        else:
            model.fit(tr.smiles, tr.y)
        fold_pred = model.predict(train.subset(fold.test).smiles)
        pred[fold.test] = fold_pred
        fold_scores.append(_score(task, metric, train.y[fold.test], fold_pred))
    return pred, fold_scores, time.perf_counter() - start


def better(metric: str, a: float, b: float) -> bool:
    """Is score ``a`` better than ``b`` for ``metric``? (NaN is never better.)"""
    if not np.isfinite(a):
        return False
    if not np.isfinite(b):
        return True
    return a > b if METRIC_DIRECTIONS[metric] == "higher" else a < b
