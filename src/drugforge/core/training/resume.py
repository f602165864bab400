"""A run's counters and how a resumed run gets them back.

:class:`LoopState` is what :func:`~drugforge.core.training.loop.fit_torch` saves of itself in every
checkpoint (beside weights, optimizer, scheduler, RNG states and the data position);
:func:`resume_run` loads the newest checkpoint into every part of a new run, after checking that
the settings which decide the numbers are those the checkpoint was written with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from drugforge.core.errors import DrugforgeError
from drugforge.core.training.checkpoint import (
    latest_checkpoint,
    read_checkpoint,
    restore_training_state,
)
from drugforge.core.training.data import BatchStream
from drugforge.core.training.schedule import scheduler_factors

if TYPE_CHECKING:  # the loop imports this module
    from drugforge.core.training.loop import TrainConfig

__all__ = ["LoopState", "resume_run"]

# settings a resumed run must share with the checkpoint it continues (the others, such as the
# device, the progress bar or the time budget, may change between sessions)
RESUME_KEYS = (
    "max_epochs", "lr", "weight_decay", "batch_size", "patience", "min_delta", "grad_clip",
    "seed", "lr_schedule", "warmup_epochs", "min_lr_ratio", "max_steps", "warmup_steps",
    "eval_every",
)  # fmt: skip


@dataclass
class LoopState:
    """The loop's counters: saved in every checkpoint, so a resumed run picks them up."""

    step: int = 0  # optimizer steps taken
    finished: bool = False  # ran out of steps or stopped early: a resume has nothing to do
    stop_reason: str = ""
    units_seen: int = 0
    seconds: float = 0.0  # training time over all sessions
    period_loss: float = 0.0  # sum of batch loss x batch size in the current period
    period_units: int = 0
    period_seconds: float = 0.0
    period_lr: float = math.nan  # learning rate at the start of the current period
    best_loss: float = math.inf
    best_period: int = 0
    best_step: int = 0
    stale: int = 0  # periods without improvement
    history: list[dict[str, float]] = field(default_factory=list)


def resume_run(
    config: TrainConfig,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    stream: BatchStream,
) -> tuple[LoopState, dict[str, Tensor] | None]:
    """Load the newest checkpoint of ``config.checkpoint_dir`` into every part of the run."""
    assert config.checkpoint_dir is not None
    path = latest_checkpoint(config.checkpoint_dir)
    if path is None:
        raise DrugforgeError("no checkpoint to resume from", path=config.checkpoint_dir)
    checkpoint = read_checkpoint(path)
    saved = checkpoint.meta.get("config", {})
    for key in RESUME_KEYS:
        if key == "max_steps" and config.reschedule:
            continue
        if key in saved and saved[key] != getattr(config, key):
            raise DrugforgeError(
                f"the checkpoint was written with {key}={saved[key]!r} but this run has "
                f"{key}={getattr(config, key)!r}; resume with the same settings",
                path=path,
            )
    restore_training_state(checkpoint, module, optimizer, scheduler)
    stream.load_state_dict(checkpoint.meta["stream"])
    loop = checkpoint.meta["loop"]
    state = LoopState(**{f.name: loop[f.name] for f in fields(LoopState) if f.name in loop})
    if config.reschedule and config.max_steps is not None:
        if config.max_steps <= state.step:
            raise DrugforgeError(
                f"max_steps {config.max_steps} is not beyond the checkpoint's step {state.step}",
                path=path,
            )
        if state.finished and state.stop_reason == "max_steps":  # a finished run goes on
            state.finished, state.stop_reason = False, ""
        # the optimizer's learning rate was loaded from the old schedule: set the new one's
        for group, factor in zip(optimizer.param_groups, scheduler_factors(scheduler)):
            group["lr"] = group["initial_lr"] * factor
    return state, checkpoint.best
