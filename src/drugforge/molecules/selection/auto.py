"""``--model auto`` for molecules: the default candidate pool and the molecule model registry
around the modality-neutral selection of :mod:`drugforge.core.selection.auto`.

Every candidate of the pool is scored with k-fold cross-validation on the training molecules
(scaffold or random folds); the averages of the best two and three candidates are scored too;
the best of all is the choice. The test molecules are never seen here.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from drugforge.core.selection.auto import AutoResult, Log, ModelFactory
from drugforge.core.selection.auto import select_model as select_among
from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.data.splits import kfold
from drugforge.molecules.models import build_model, model_param_names
from drugforge.molecules.models.base import TaskType
from drugforge.molecules.models.shipped import shipped_generators

__all__ = [
    "CHEMLM_MAX_TRAIN",
    "CHEMLM_NAME",
    "DEFAULT_POOL",
    "GP_MAX_TRAIN",
    "MOLECULE_MODELS",
    "default_pool",
    "select_model",
]

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

#: the molecule models, as model selection builds them (by registry name)
MOLECULE_MODELS = ModelFactory(build=build_model, param_names=model_param_names)


def default_pool(task: TaskType, n_train: int) -> tuple[str, ...]:
    """The candidates of ``--model auto`` for ``task`` and ``n_train`` training molecules."""
    pool = DEFAULT_POOL[task]
    if n_train > GP_MAX_TRAIN:
        pool = tuple(name for name in pool if name != "gp")
    if n_train <= CHEMLM_MAX_TRAIN and CHEMLM_NAME in shipped_generators():  # shipped, frozen
        pool = (*pool, CHEMLM_NAME)
    return pool


def select_model(
    train: MoleculeDataset,
    *,
    pool: tuple[str, ...] | None = None,
    k: int = 5,
    seed: int = 0,
    split_method: str = "random",
    model_params: dict[str, dict[str, Any]] | None = None,
    log: Log = None,
) -> AutoResult:
    """Cross-validate each candidate on ``train`` and return the best spec with the table."""
    return select_among(
        train,
        pool or default_pool(train.task, len(train.smiles)),
        partial(kfold, k=k, method=split_method, seed=seed),
        MOLECULE_MODELS,
        seed=seed,
        model_params=model_params,
        log=log,
    )
