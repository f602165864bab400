"""Hooks of :func:`~drugforge.core.training.loop.fit_torch`: what varies between its uses.

A use (logging, an extra stopping rule, a KL weight schedule...) subclasses :class:`TrainHooks`
and overrides what it needs, the way REINVENT4 varies one learning loop by its hooks instead of
copying it; :class:`HookList` runs several as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:  # the loop imports this module
    from drugforge.core.training.loop import TrainConfig, TrainResult

__all__ = ["HookList", "TrainHooks"]


class TrainHooks:
    """Callbacks of :func:`~drugforge.core.training.loop.fit_torch`; subclass and override what
    you need (all no-ops here).

    ``on_epoch_end`` may return ``True`` to stop training after that epoch (the best weights are
    still restored).
    """

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        pass

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        return None

    def on_train_end(self, result: TrainResult) -> None:
        pass


class HookList(TrainHooks):
    def __init__(self, hooks: TrainHooks | Sequence[TrainHooks] | None) -> None:
        if hooks is None:
            self.hooks: list[TrainHooks] = []
        elif isinstance(hooks, TrainHooks):
            self.hooks = [hooks]
        else:
            self.hooks = list(hooks)

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        for h in self.hooks:
            h.on_train_begin(module, config)

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        for h in self.hooks:
            h.on_batch_end(epoch, step, loss)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        stop = False
        for h in self.hooks:  # every hook sees every epoch, even after one asked to stop
            stop = bool(h.on_epoch_end(epoch, logs)) or stop
        return stop

    def on_train_end(self, result: TrainResult) -> None:
        for h in self.hooks:
            h.on_train_end(result)
