"""Training: the one torch training loop (:mod:`drugforge.core.training.loop`), its parts (batch
``data``, ``hooks``, ``schedule``, ``device``, ``resume``, ``checkpoint``), the masked ``losses``
and the numpy helpers of torch predictors (``arrays``); model selection lives in
:mod:`drugforge.core.selection` (the molecule defaults in :mod:`drugforge.molecules.selection`).

The public names are re-exported here; code inside drugforge imports them from their defining
module.
"""

from __future__ import annotations

from drugforge.core.training.arrays import ColumnScaler, predict_torch
from drugforge.core.training.data import BatchSource, BatchStream, ListData, TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainingInterrupted, TrainResult, fit_torch
from drugforge.core.training.losses import masked_bce_with_logits, masked_loss, masked_mse

__all__ = [
    "BatchSource",
    "BatchStream",
    "ColumnScaler",
    "ListData",
    "TensorData",
    "TrainConfig",
    "TrainHooks",
    "TrainResult",
    "TrainingInterrupted",
    "fit_torch",
    "masked_bce_with_logits",
    "masked_loss",
    "masked_mse",
    "predict_torch",
    "seed_everything",
]
