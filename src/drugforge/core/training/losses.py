"""Masked multi-task losses of the torch predictors: a NaN label is a missing one and adds nothing.

Every labelled (molecule, task) entry weighs the same, so tasks with more labels count for more, and
a batch without any label gives a zero loss that still backpropagates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["masked_bce_with_logits", "masked_loss", "masked_mse"]


def masked_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over the labelled entries of ``target`` (NaN = missing).

    pred, target: (B, T). Every labelled (molecule, task) entry weighs the same. A batch with no
    labels gives a zero loss that still backpropagates (zero gradients).
    """
    mask = ~torch.isnan(target)  # (B, T)
    diff = torch.where(mask, pred - torch.nan_to_num(target), torch.zeros_like(pred))
    return diff.pow(2).sum() / mask.sum().clamp(min=1)


def masked_bce_with_logits(
    logits: Tensor, target: Tensor, pos_weight: Tensor | None = None
) -> Tensor:
    """Binary cross-entropy on logits over the labelled (0/1) entries of ``target``.

    logits, target: (B, T); NaN = missing label. ``pos_weight`` (T,) multiplies the loss of each
    task's positive labels (class weights: ``n_neg / n_pos`` of the task); None weighs all alike.
    """
    mask = ~torch.isnan(target)  # (B, T)
    losses = F.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(target), reduction="none", pos_weight=pos_weight
    )  # (B, T)
    return torch.where(mask, losses, torch.zeros_like(losses)).sum() / mask.sum().clamp(min=1)


def masked_loss(
    task: Literal["regression", "classification"],
    pos_weight: np.ndarray | None = None,
) -> Callable[[Tensor, Tensor], Tensor]:
    """The masked loss for ``task``: MSE (standardized targets) or BCE-with-logits, the latter
    with ``pos_weight`` (one per task, e.g. :func:`~drugforge.core.predictor.balanced_pos_weight`)
    on the positive labels when given (ignored for regression)."""
    if task == "regression":
        return masked_mse
    if task == "classification":
        if pos_weight is None:
            return masked_bce_with_logits
        weight = torch.as_tensor(np.asarray(pos_weight, dtype=np.float32))  # (T,)

        def weighted(logits: Tensor, target: Tensor) -> Tensor:
            return masked_bce_with_logits(logits, target, weight.to(logits.device))

        return weighted
    raise ValueError(f"unknown task {task!r}; choose from: regression, classification")
