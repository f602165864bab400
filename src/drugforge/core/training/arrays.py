"""numpy in, numpy out: what every torch predictor needs around the training loop.

Target standardization (:class:`ColumnScaler`, NaN-aware), a seeded hold-out split, a module's
weights as plain arrays (safetensors-ready, no pickle) and back, batched prediction to numpy, and
network outputs turned into predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.training.data import Batch, BatchSource, iter_batches, move_to_device
from drugforge.core.training.device import resolve_device

__all__ = [
    "ColumnScaler",
    "arrays_to_module",
    "holdout_split",
    "module_to_arrays",
    "outputs_to_predictions",
    "predict_torch",
    "validation_targets",
]


@dataclass
class ColumnScaler:
    """Per-column standardization (regression targets, extra descriptors), NaN-aware."""

    mean: np.ndarray  # (T,)
    std: np.ndarray  # (T,)

    @classmethod
    def fit(cls, y: np.ndarray) -> ColumnScaler:
        """Mean and SD of each column of ``y`` (n, T) over its non-NaN entries.

        A column without values gets mean 0, SD 1; a constant column gets SD 1.
        """
        y = np.asarray(y, dtype=np.float64)
        labelled = ~np.isnan(y)
        counts = labelled.sum(axis=0)
        filled = np.where(labelled, y, 0.0)
        mean = filled.sum(axis=0) / np.maximum(counts, 1)
        var = (np.where(labelled, y - mean, 0.0) ** 2).sum(axis=0) / np.maximum(counts, 1)
        std = np.sqrt(var)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean=mean, std=std)

    @classmethod
    def identity(cls, n_columns: int) -> ColumnScaler:
        return cls(mean=np.zeros(n_columns), std=np.ones(n_columns))

    def transform(self, y: np.ndarray) -> np.ndarray:
        scaled: np.ndarray = (np.asarray(y, dtype=np.float64) - self.mean) / self.std
        return scaled

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}mean": np.asarray(self.mean, np.float64),
                f"{prefix}std": np.asarray(self.std, np.float64)}  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> ColumnScaler:
        return cls(
            mean=np.asarray(arrays[f"{prefix}mean"], dtype=np.float64),
            std=np.asarray(arrays[f"{prefix}std"], dtype=np.float64),
        )

    def inverse(self, y: np.ndarray) -> np.ndarray:
        original: np.ndarray = np.asarray(y, dtype=np.float64) * self.std + self.mean
        return original


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random ``(train_idx, val_idx)`` with ``round(fraction * n)`` validation examples.

    Returns all of ``range(n)`` as training and an empty validation set when that rounds to 0 or
    would leave no training example.
    """
    n_val = round(fraction * n)
    if n_val < 1 or n_val >= n:
        return np.arange(n), np.arange(0)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def module_to_arrays(module: nn.Module, prefix: str = "") -> dict[str, np.ndarray]:
    """The module's ``state_dict`` as CPU numpy arrays (safetensors-ready, no pickle)."""
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def arrays_to_module(
    module: nn.Module, arrays: Mapping[str, np.ndarray], prefix: str = ""
) -> nn.Module:
    """Load the ``prefix``-ed entries of ``arrays`` (see :func:`module_to_arrays`) into ``module``.

    The names must match the module's parameters exactly.
    """
    state = {
        k[len(prefix) :]: torch.from_numpy(np.array(v, copy=True))
        for k, v in arrays.items()
        if k.startswith(prefix)
    }
    module.load_state_dict(state, strict=True)
    return module


def outputs_to_predictions(
    out: np.ndarray, task: Literal["regression", "classification"], scaler: ColumnScaler
) -> np.ndarray:
    """Network outputs ``(n, T)`` -> P(positive) (sigmoid of logits) or values in target units."""
    if task == "classification":
        return 1.0 / (1.0 + np.exp(-np.asarray(out, dtype=np.float64)))
    return scaler.inverse(out)


def validation_targets(y: Any, n: int, n_tasks: int) -> np.ndarray:
    """Validation labels as float64 ``(n, n_tasks)``; unlike training labels a task may be empty."""
    Y = np.asarray(y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape != (n, n_tasks):
        raise ValueError(
            f"X_val has {n} molecules and the model {n_tasks} task(s), but y_val has shape {Y.shape}"
        )
    return Y


def predict_torch(
    module: nn.Module,
    data: BatchSource,
    forward_fn: Callable[[nn.Module, Batch], Tensor],
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Run ``forward_fn(module, batch)`` over ``data`` in order; concatenated outputs as numpy."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    module.to(dev)
    module.eval()
    outs: list[np.ndarray] = []
    with torch.no_grad():
        for _, batch in iter_batches(data, batch_size):
            outs.append(forward_fn(module, move_to_device(batch, dev)).float().cpu().numpy())
    if not outs:
        raise ValueError("nothing to predict")
    return np.concatenate(outs, axis=0)
