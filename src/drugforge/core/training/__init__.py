"""Training: the one torch training loop (:mod:`drugforge.core.training.loop`) and model selection
(:mod:`drugforge.molecules.selection.auto`).

Only the loop is re-exported here: ``models`` import it, and ``auto`` imports ``models``, so
importing ``auto`` from this ``__init__`` would create an import cycle.
"""

from __future__ import annotations

from drugforge.core.training.loop import (
    BatchSource,
    BatchStream,
    ColumnScaler,
    ListData,
    TensorData,
    TrainConfig,
    TrainHooks,
    TrainingInterrupted,
    TrainResult,
    fit_torch,
    masked_bce_with_logits,
    masked_loss,
    masked_mse,
    predict_torch,
    seed_everything,
)

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
