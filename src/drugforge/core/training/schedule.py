"""The optimizer's parameter groups and learning-rate schedule of
:func:`~drugforge.core.training.loop.fit_torch`: AdamW groups (with per-submodule learning-rate
multipliers) and a linear warmup followed by a cosine decay, as multipliers of a ``LambdaLR``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:  # the loop imports this module
    from drugforge.core.training.loop import TrainConfig

__all__ = ["lr_lambda", "param_groups", "scheduler_factors"]


def scheduler_factors(scheduler: torch.optim.lr_scheduler.LRScheduler) -> list[float]:
    """The learning-rate multipliers a LambdaLR gives at its current step."""
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if lambdas is None:
        return [1.0 for _ in scheduler.optimizer.param_groups]
    return [float(f(scheduler.last_epoch)) for f in lambdas]


def param_groups(
    module: nn.Module, lr: float, lr_scale: Mapping[str, float] | None
) -> list[dict[str, Any]]:
    """AdamW parameter groups: everything at ``lr`` first, then one group per scaled submodule."""
    if not lr_scale:
        return [{"params": list(module.parameters())}]
    named = dict(module.named_modules())
    scaled: dict[str, list[nn.Parameter]] = {}
    taken: set[int] = set()
    for name, factor in lr_scale.items():
        if name not in named or not name:
            raise ValueError(f"lr_scale names {name!r}, which is no submodule of the model")
        if not 0 < float(factor):
            raise ValueError(f"lr_scale[{name!r}] must be > 0, got {factor}")
        params = [p for p in named[name].parameters() if id(p) not in taken]
        taken |= {id(p) for p in params}
        scaled[name] = params
    groups: list[dict[str, Any]] = [
        {"params": [p for p in module.parameters() if id(p) not in taken]}
    ]
    groups += [{"params": ps, "lr": lr * float(lr_scale[n])} for n, ps in scaled.items() if ps]
    return groups


def lr_lambda(config: TrainConfig, warmup: int, total: int) -> Callable[[int], float]:
    """Multiplier of ``config.lr`` at optimizer step ``s``: linear warmup, then cosine decay."""
    floor = config.min_lr_ratio
    total = max(1, total)

    def factor(step: int) -> float:
        if config.lr_schedule == "constant":
            return 1.0
        if step < warmup:
            return floor + (1.0 - floor) * step / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
