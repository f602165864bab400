"""Optional hyperparameter search (``--search N``) for molecule models: their search spaces
around the modality-neutral random search of :mod:`drugforge.core.selection.search` (scored by
cross-validation on the training molecules only, the same folds for every configuration, the
model's defaults included).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from drugforge.core.selection.auto import Log
from drugforge.core.selection.search import SearchResult, SearchSpace
from drugforge.core.selection.search import search_hyperparameters as search_space
from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.data.splits import kfold
from drugforge.molecules.selection.auto import MOLECULE_MODELS

__all__ = ["SEARCH_SPACES", "search_hyperparameters"]

#: the values searched per model; a configuration draws one value per parameter
SEARCH_SPACES: dict[str, SearchSpace] = {
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


def search_hyperparameters(
    train: MoleculeDataset,
    name: str,
    *,
    n_trials: int,
    base_params: dict[str, Any] | None = None,
    k: int = 5,
    seed: int = 0,
    split_method: str = "random",
    target_transform: dict[str, Any] | None = None,
    log: Log = None,
) -> SearchResult:
    """Try the defaults plus ``n_trials - 1`` random configurations; keep the best by CV."""
    return search_space(
        train,
        name,
        SEARCH_SPACES,
        partial(kfold, k=k, method=split_method, seed=seed),
        MOLECULE_MODELS,
        n_trials=n_trials,
        base_params=base_params,
        seed=seed,
        target_transform=target_transform,
        log=log,
    )
