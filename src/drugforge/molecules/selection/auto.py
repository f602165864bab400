"""``--model auto`` for molecules: the default candidate pool and the molecule model registry
around the modality-neutral selection of :mod:`drugforge.core.selection.auto`.

Every candidate of the pool is scored with k-fold cross-validation on the training molecules
(scaffold or random folds); the averages of the best two and three candidates are scored too;
the best of all is the choice. The test molecules are never seen here.

On imbalanced classification data (:func:`imbalanced`), every candidate that takes
``class_weight`` is cross-validated with and without ``class_weight='balanced'``
(:func:`class_weight_variants`) and the better of the two is kept for that model.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from drugforge.core.selection.auto import AutoResult, Log, ModelFactory, Variants
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
    "IMBALANCE_MINORITY",
    "MOLECULE_MODELS",
    "MPNN_MAX_TRAIN",
    "class_weight_variants",
    "default_pool",
    "imbalanced",
    "select_model",
]

#: default candidates. The kernel models and boosted trees cross-validate in seconds on a
#: thousand molecules and were the most accurate on MoleculeACE, ESOL and FreeSolv
#: (docs/benchmarks.md); the networks (``mlp``, ``mpnn``) cost 10-100x more per fold, so for
#: regression they join only when named in ``--auto-pool``. For multi-task classification one
#: network serves all tasks at once, so the MLP and the D-MPNN are in the default pool there
#: (the D-MPNN only up to ``MPNN_MAX_TRAIN`` molecules).
#: The GP is exact (O(n^3)), so it only joins below ``GP_MAX_TRAIN`` molecules.
DEFAULT_POOL: dict[str, tuple[str, ...]] = {
    "regression": ("svm", "gp", "gbm"),
    "classification": ("svm", "gbm", "mlp", "mpnn"),
}
GP_MAX_TRAIN = 6000
#: the D-MPNN joins the default classification pool only up to this many training molecules: on
#: CPU its 5-fold cross-validation costs minutes per thousand molecules (each fold trains a
#: network for up to 100 epochs on graphs), twice that when class weights are tried too, while
#: the fingerprint models take seconds; name it in ``--auto-pool`` to try it on larger sets
MPNN_MAX_TRAIN = 2000
#: a classification task is imbalanced when its minority class is under this share of its
#: labelled training rows; auto then tries class weights (``'balanced'``) too
IMBALANCE_MINORITY = 0.4
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
    if n_train > MPNN_MAX_TRAIN:
        pool = tuple(name for name in pool if name != "mpnn")
    if n_train <= CHEMLM_MAX_TRAIN and CHEMLM_NAME in shipped_generators():  # shipped, frozen
        pool = (*pool, CHEMLM_NAME)
    return pool


def imbalanced(Y: np.ndarray, threshold: float = IMBALANCE_MINORITY) -> bool:
    """Is the minority class of any task under ``threshold`` of its labelled rows?
    (``Y``: ``(n, t)`` 0/1 labels, NaN = missing.)"""
    for j in range(Y.shape[1]):
        labels = Y[~np.isnan(Y[:, j]), j]
        if len(labels) and min(labels.mean(), 1.0 - labels.mean()) < threshold:
            return True
    return False


def class_weight_variants(
    train: MoleculeDataset,
    pool: tuple[str, ...],
    model_params: dict[str, dict[str, Any]] | None = None,
) -> Variants:
    """With and without ``class_weight='balanced'`` for the candidates that take it, when
    ``train`` is imbalanced classification data; a ``class_weight`` the user set is kept."""
    if train.task != "classification" or not imbalanced(train.y):
        return {}
    return {
        name: [{}, {"class_weight": "balanced"}]
        for name in pool
        if "class_weight" in MOLECULE_MODELS.param_names(name)
        and "class_weight" not in (model_params or {}).get(name, {})
    }


def select_model(
    train: MoleculeDataset,
    *,
    pool: tuple[str, ...] | None = None,
    k: int = 5,
    seed: int = 0,
    split_method: str = "random",
    model_params: dict[str, dict[str, Any]] | None = None,
    target_transform: dict[str, Any] | None = None,
    log: Log = None,
) -> AutoResult:
    """Cross-validate each candidate on ``train`` (with and without class weights on imbalanced
    classification data; fitted under ``target_transform``, scored in the target's units) and
    return the best spec with the table."""
    candidates = pool or default_pool(train.task, len(train.smiles))
    return select_among(
        train,
        candidates,
        partial(kfold, k=k, method=split_method, seed=seed),
        MOLECULE_MODELS,
        seed=seed,
        model_params=model_params,
        variants=class_weight_variants(train, candidates, model_params),
        target_transform=target_transform,
        log=log,
    )
