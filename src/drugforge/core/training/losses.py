"""Masked multi-task losses of the torch predictors: a NaN label is a missing one and adds nothing.

Every labelled (molecule, task) entry weighs the same, so tasks with more labels count for more, and
a batch without any label gives a zero loss that still backpropagates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

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


def masked_bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """Binary cross-entropy on logits over the labelled (0/1) entries of ``target``.

    logits, target: (B, T); NaN = missing label.
    """
    mask = ~torch.isnan(target)  # (B, T)
    losses = F.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(target), reduction="none"
    )  # (B, T)
    return torch.where(mask, losses, torch.zeros_like(losses)).sum() / mask.sum().clamp(min=1)


def masked_loss(
    task: Literal["regression", "classification"],
) -> Callable[[Tensor, Tensor], Tensor]:
    """The masked loss for ``task``: MSE (standardized targets) or BCE-with-logits."""
    if task == "regression":
        return masked_mse
    if task == "classification":
        return masked_bce_with_logits
    raise ValueError(f"unknown task {task!r}; choose from: regression, classification")
