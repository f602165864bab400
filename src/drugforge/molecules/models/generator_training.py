"""Helpers for training the generators with the one loop (:func:`~drugforge.core.training.loop.fit_torch`).

A step counter saved in the checkpoints (so schedules resume exactly), the schedule's total step
count, the history of per-period loss terms a hook records, the VAE's KL-weight annealing, and
the cleaning of a state's meta to strict JSON. Shared by the SMILES VAE and the latent GAN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig

__all__ = ["KLAnnealing", "StepCounter", "finite_or_none", "join_history", "period_key",
           "schedule_total_steps"]  # fmt: skip


class StepCounter(nn.Module):
    """A module trained by ``fit_torch`` plus a count of its optimizer steps (a buffer).

    Schedules that depend on the step (the KL weight, the GAN's turns) read :attr:`steps`; being a
    buffer it is saved in ``fit_torch``'s checkpoints, so a resumed run continues the schedule
    exactly where the interrupted one was. The loss function calls :meth:`tick` once per
    training step. Only ``inner`` is kept once training is over.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    steps: Tensor

    def tick(self) -> int:
        """The number of steps before this one; counts this one."""
        done = int(self.steps)
        self.steps.add_(1)
        return done


def schedule_total_steps(config: TrainConfig, n_train: int) -> int:
    """Optimizer steps ``fit_torch`` will take with ``config`` on ``n_train`` examples."""
    if config.max_steps is not None:
        return int(config.max_steps)
    return config.max_epochs * math.ceil(n_train / config.batch_size)


def period_key(logs: dict[str, float]) -> tuple[str, float]:
    """Names a period of ``fit_torch``'s history: its epoch, or its last step in step mode."""
    return ("step", logs["step"]) if "step" in logs else ("epoch", logs["epoch"])


def join_history(
    history: list[dict[str, float]], terms: dict[tuple[str, float], dict[str, float]]
) -> list[dict[str, float]]:
    """``fit_torch``'s history with a hook's per-period terms added (periods of a resumed run's
    earlier session have none)."""
    return [{**logs, **terms.get(period_key(logs), {})} for logs in history]


class KLAnnealing(TrainHooks):
    """KL weight schedule, and per-period means of both loss terms.

    ``beta`` goes linearly from ``start`` to ``end`` over the first ``fraction`` of all optimizer
    steps (known at ``on_train_begin`` from the config and ``n_train``), then stays at ``end``.
    The loss function asks :meth:`beta` for its step and reports its terms with :meth:`record`.
    """

    def __init__(self, start: float, end: float, fraction: float, n_train: int) -> None:
        self.start, self.end, self.fraction, self.n_train = start, end, fraction, n_train
        self.ramp = 1
        self.last_beta = start
        self.terms: dict[tuple[str, float], dict[str, float]] = {}
        self._sums = np.zeros(6)  # train recon, kl, n; val recon, kl, n

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        self.ramp = max(1, round(self.fraction * schedule_total_steps(config, self.n_train)))

    def beta(self, step: int) -> float:
        """The KL weight at 0-based optimizer step ``step``."""
        if self.fraction <= 0:
            return self.end
        self.last_beta = self.start + (self.end - self.start) * min(1.0, step / self.ramp)
        return self.last_beta

    def record(self, recon: float, kl: float, n: int, training: bool) -> None:
        at = 0 if training else 3
        self._sums[at : at + 3] += (recon * n, kl * n, n)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        s = self._sums
        self.terms[period_key(logs)] = {
            "train_recon": s[0] / max(s[2], 1.0),
            "train_kl": s[1] / max(s[2], 1.0),
            "val_recon": s[3] / s[5] if s[5] else math.nan,
            "val_kl": s[4] / s[5] if s[5] else math.nan,
            "beta": self.last_beta,
        }
        self._sums = np.zeros(6)
        return None


def finite_or_none(value: Any) -> Any:
    """NaN and infinities -> None, recursively: the state's meta must be strict JSON."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
