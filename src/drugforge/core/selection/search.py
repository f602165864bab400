"""Optional hyperparameter search (``--search N``): random search scored by cross-validation on
the training data only, the same folds for every configuration, the model's defaults included.

The searched values come from the caller (a modality's search spaces, by model name; molecules:
:mod:`drugforge.molecules.selection.search`), as do the fold function and the model factory.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drugforge.core.dataset import Dataset
from drugforge.core.evaluation.metrics import primary_metric
from drugforge.core.selection.auto import (
    FoldFunction,
    Log,
    ModelFactory,
    ModelSpec,
    better,
    cross_validate,
    score_predictions,
)

__all__ = ["SearchResult", "SearchSpace", "search_hyperparameters"]

#: the values searched for one model; a configuration draws one value per parameter
SearchSpace = dict[str, list[Any]]


@dataclass
class SearchResult:
    best: ModelSpec
    metric: str
    trials: list[dict[str, Any]]  # params, score, seconds for every configuration tried


def search_hyperparameters(
    train: Dataset,
    name: str,
    spaces: Mapping[str, SearchSpace],
    make_folds: FoldFunction,
    models: ModelFactory,
    *,
    n_trials: int,
    base_params: dict[str, Any] | None = None,
    seed: int = 0,
    target_transform: dict[str, Any] | None = None,
    log: Log = None,
) -> SearchResult:
    """Try the defaults plus ``n_trials - 1`` random configurations of ``name`` drawn from
    ``spaces[name]``; keep the best by cross-validation over the folds ``make_folds(train)``
    (fitted under ``target_transform``, scored in the target's units)."""
    if name not in spaces:
        raise ValueError(f"no search space for '{name}'; searchable: {', '.join(spaces)}")
    if n_trials < 1:
        raise ValueError("the number of search trials must be at least 1")
    space = spaces[name]
    rng = random.Random(seed)
    base = models.with_seed(name, base_params or {}, seed)
    candidates: list[dict[str, Any]] = [base]
    seen = {repr(sorted(base.items()))}
    size = 1
    for values in space.values():
        size *= len(values)
    while len(candidates) < min(n_trials, size + 1):
        params = {**base, **{key: rng.choice(values) for key, values in space.items()}}
        key = repr(sorted(params.items()))
        if key not in seen:
            seen.add(key)
            candidates.append(params)
    metric = primary_metric(train.task)
    folds = make_folds(train)
    trials: list[dict[str, Any]] = []
    best: ModelSpec | None = None
    best_score = float("nan")
    for i, params in enumerate(candidates):
        spec = ModelSpec(name, params)
        pred, _, seconds = cross_validate(train, spec, folds, metric, models, target_transform)
        score = score_predictions(train.task, metric, train.y, pred, target_transform)
        trials.append({"params": params, "score": score, "seconds": seconds})
        if log is not None:
            shown = {k: v for k, v in params.items() if k in space}
            log(f"  search {i + 1}/{len(candidates)} {name} {shown or 'defaults'}: "
                f"{metric} = {score:.4f} ({seconds:.1f} s)")
        if best is None or better(metric, score, best_score):
            best, best_score = spec, score
    assert best is not None
    return SearchResult(best=best, metric=metric, trials=trials)
