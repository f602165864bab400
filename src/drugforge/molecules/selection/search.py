"""Optional hyperparameter search (``--search N``): random search scored by cross-validation on
the training data only, the same folds for every configuration, the model's defaults included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.data.splits import kfold
from drugforge.core.evaluation.metrics import primary_metric
from drugforge.molecules.models import model_param_names
from drugforge.molecules.selection.auto import ModelSpec, _score, better, cross_validate

#: the values searched per model; a configuration draws one value per parameter
SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    "svm": {"C": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0], "epsilon": [0.0, 0.02, 0.05, 0.1, 0.2]},
    "gp": {"featurizer_params": [{"radius": 2, "size": 4096, "counts": True},
                                 {"radius": 3, "size": 4096, "counts": True},
                                 {"radius": 2, "size": 2048, "counts": False}]},
    "gbm": {"learning_rate": [0.02, 0.05, 0.1], "num_leaves": [15, 31, 63],
            "colsample_bytree": [0.1, 0.3, 0.5], "min_child_samples": [3, 5, 10, 20]},
    "mlp": {"hidden_sizes": [[512], [1024, 256], [2048, 512]], "dropout": [0.0, 0.2, 0.4],
            "lr": [3e-4, 1e-3, 3e-3]},
    "mpnn": {"depth": [2, 3, 4, 5], "hidden": [150, 300, 600], "dropout": [0.0, 0.1, 0.2]},
}


@dataclass
class SearchResult:
    best: ModelSpec
    metric: str
    trials: list[dict[str, Any]]  # params, score, seconds for every configuration tried


def search_hyperparameters(
    train: MoleculeDataset,
    name: str,
    *,
    n_trials: int,
    base_params: dict[str, Any] | None = None,
    k: int = 5,
    seed: int = 0,
    split_method: str = "random",
    log: Any = None,
) -> SearchResult:
    """Try the defaults plus ``n_trials - 1`` random configurations; keep the best by CV."""
    if name not in SEARCH_SPACES:
        raise ValueError(f"no search space for '{name}'; searchable: {', '.join(SEARCH_SPACES)}")
    if n_trials < 1:
        raise ValueError("the number of search trials must be at least 1")
    space = SEARCH_SPACES[name]
    rng = random.Random(seed)
    base = dict(base_params or {})
    if "seed" in model_param_names(name):
        base.setdefault("seed", seed)
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
    folds = kfold(train, k=k, method=split_method, seed=seed)
    trials: list[dict[str, Any]] = []
    best: ModelSpec | None = None
    best_score = float("nan")
    for i, params in enumerate(candidates):
        spec = ModelSpec(name, params)
        pred, _, seconds = cross_validate(train, spec, folds, metric)
        score = _score(train.task, metric, train.y, pred)  # type: ignore[arg-type]
        trials.append({"params": params, "score": score, "seconds": seconds})
        if log is not None:
            shown = {k: v for k, v in params.items() if k in space}
            log(f"  search {i + 1}/{len(candidates)} {name} {shown or 'defaults'}: "
                f"{metric} = {score:.4f} ({seconds:.1f} s)")
        if best is None or better(metric, score, best_score):
            best, best_score = spec, score
    assert best is not None
    return SearchResult(best=best, metric=metric, trials=trials)
