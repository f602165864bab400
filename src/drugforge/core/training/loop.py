"""The one training loop for every torch model in drugforge.

A model brings three things: an ``nn.Module``, its data, and a ``loss_fn(module, batch) ->
scalar`` that runs the forward pass. Everything else (seeding, shuffling, AdamW, warmup + cosine
learning rate, gradient clipping, mixed precision, validation, early stopping with best-weight
restore, checkpoints and exact resume, progress) lives here once. Behaviour that differs between
uses (logging, extra stopping rules, RL-style updates later) goes into :class:`TrainHooks`, the
way REINVENT4 varies one learning loop by its hooks instead of copying it.

The loop counts optimizer steps and closes a *period* every so many steps: the period is one
epoch (``max_epochs`` passes over an indexable :class:`BatchSource`, the default) or
``eval_every`` steps (``max_steps`` set: a step budget over a :class:`BatchSource`, reshuffled at
every pass, or over an endless :class:`BatchStream` such as a SMILES corpus file). A period ends
with validation, a history entry, the hooks' ``on_epoch_end`` and the early-stopping check.

With a ``checkpoint_dir`` the run is resumable: checkpoints (:mod:`drugforge.core.training.checkpoint`:
safetensors + JSON, written atomically) hold weights, optimizer, scheduler, every RNG state and
the data position, every ``checkpoint_every`` steps, at the end, when the time budget runs out,
and on Ctrl-C or SIGTERM (the loop finishes the current step, saves, and raises
:class:`TrainingInterrupted`). A run resumed from a checkpoint ends with the same weights as an
uninterrupted one (on CPU; CUDA kernels need not be bit-reproducible).

The loop's parts live beside it, one job per module: batch sources and streams (``data``), hooks
(``hooks``), the optimizer groups and learning-rate schedule (``schedule``), seeding, device and
determinism (``device``), the counters a checkpoint saves and resuming them (``resume``). The
masked losses (``losses``) and the numpy helpers of torch predictors (``arrays``) are used by the
models, not by the loop.

Of drugforge it imports only ``errors``, ``progress``, ``interrupt`` and ``core.training``, so
model files may use it without an import cycle.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.errors import DrugforgeError
from drugforge.core.interrupt import Interrupts
from drugforge.core.progress import Progress
from drugforge.core.training.checkpoint import write_checkpoint
from drugforge.core.training.data import (
    Batch,
    BatchSource,
    BatchStream,
    EpochStream,
    iter_batches,
    move_to_device,
)
from drugforge.core.training.device import (
    Deterministic,
    autocast_enabled,
    resolve_device,
    seed_everything,
)
from drugforge.core.training.hooks import HookList, TrainHooks
from drugforge.core.training.resume import LoopState, resume_run
from drugforge.core.training.schedule import lr_lambda, param_groups

__all__ = ["TrainConfig", "TrainResult", "TrainingInterrupted", "fit_torch"]


# ---------------------------------------------------------------------------------- config
@dataclass
class TrainConfig:
    """How to train; the model's architecture lives in the model's own config."""

    max_epochs: int = 100
    lr: float = 1e-3  # peak learning rate (after warmup)
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    batch_size: int = 64
    patience: int | None = 10  # periods without val improvement before stopping; None = never
    min_delta: float = 0.0  # an improvement must lower the val loss by more than this
    grad_clip: float | None = 5.0  # max global gradient norm; None = no clipping
    seed: int = 0
    lr_schedule: Literal["cosine", "constant"] = "cosine"  # linear warmup, then cosine decay
    warmup_epochs: float = 2.0  # linear warmup from lr * min_lr_ratio to lr
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio at the last step
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    deterministic: bool = True  # torch.use_deterministic_algorithms during the fit
    quiet: bool = False  # no progress bar
    # step mode: a budget of optimizer steps instead of epochs (required for a BatchStream)
    max_steps: int | None = None  # set: train this many steps; max_epochs is then ignored
    warmup_steps: int = 0  # step mode's warmup (epoch mode uses warmup_epochs)
    eval_every: int | None = None  # step mode: validate every N steps; None = once, at the end
    # checkpoints (either mode): resumable runs
    checkpoint_dir: str | None = None  # where checkpoints go; None = no checkpoints
    checkpoint_every: int | None = None  # steps between checkpoints; None = only when stopping
    keep_checkpoints: int = 2  # the newest ones kept, older ones deleted
    resume: bool = False  # continue from the newest checkpoint in checkpoint_dir
    # resume only: max_steps may differ from the checkpoint's; the warmup + cosine schedule is
    # then recomputed for the new total from the current step (no longer step-for-step the run
    # that was started, which the checkpoint's own max_steps would reproduce exactly)
    reschedule: bool = False
    time_budget_s: float | None = None  # stop (resumably) after this much training in this run
    precision: Literal["fp32", "bf16", "auto"] = "fp32"  # auto: bf16 autocast on CUDA, else fp32

    def __post_init__(self) -> None:
        if self.max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(
                f"unknown lr_schedule {self.lr_schedule!r}; choose from: cosine, constant"
            )
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"unknown device {self.device!r}; choose from: cpu, cuda, auto")
        for name in ("max_steps", "eval_every", "checkpoint_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.keep_checkpoints < 1:
            raise ValueError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0 or None, got {self.time_budget_s}")
        if self.precision not in ("fp32", "bf16", "auto"):
            raise ValueError(f"unknown precision {self.precision!r}; choose from: fp32, bf16, auto")
        if self.resume and self.checkpoint_dir is None:
            raise ValueError("resume needs a checkpoint_dir")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainConfig:
        """The fields found in ``params`` (e.g. a predictor's ``get_params()``), defaults else."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})


@dataclass
class TrainResult:
    """What happened during :func:`fit_torch`; the module holds the best weights afterwards."""

    best_epoch: int  # 1-based; the period (epoch) whose weights the module now holds
    best_val_loss: float  # NaN when there was no validation data
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per period
    steps: int = 0  # optimizer steps taken, resumed sessions included
    best_step: int = 0  # the step whose weights the module now holds
    units_seen: int = 0  # training examples seen (tokens, for a token stream)
    unit: str = "samples"  # what units_seen counts
    seconds: float = 0.0  # training time, resumed sessions included
    stop_reason: str = ""  # max_epochs | max_steps | patience | hook | time_budget


class TrainingInterrupted(DrugforgeError):
    """Ctrl-C or SIGTERM stopped training; the state was saved to a checkpoint first."""

    exit_code = 130

    def __init__(self, step: int, checkpoint: Path, reason: str) -> None:
        super().__init__(
            f"training interrupted ({reason}) after step {step}; checkpoint saved in "
            f"{checkpoint}; run again with resume (--resume) to continue"
        )
        self.step = step
        self.checkpoint = checkpoint


# --------------------------------------------------------------------------------- the loop
def _evaluate_loss(
    module: nn.Module,
    data: BatchSource,
    loss_fn: Callable[[nn.Module, Batch], Tensor],
    batch_size: int,
    device: torch.device,
    bf16: bool = False,
) -> float:
    """Mean loss over ``data`` (batch losses weighted by batch size), in eval mode."""
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for n, batch in iter_batches(data, batch_size):
            total += float(loss_fn(module, move_to_device(batch, device))) * n
            count += n
    return total / max(1, count)


def fit_torch(
    module: nn.Module,
    train_data: BatchSource | BatchStream,
    val_data: BatchSource | None,
    loss_fn: Callable[[nn.Module, Batch], Tensor],
    config: TrainConfig,
    hooks: TrainHooks | Sequence[TrainHooks] | None = None,
    lr_scale: Mapping[str, float] | None = None,
) -> TrainResult:
    """Train ``module`` in place and leave it holding the weights of the best period.

    Parameters
    ----------
    module
        Any ``nn.Module``; it is moved to ``config.device``. Build it after
        ``seed_everything(config.seed)`` for reproducible initial weights.
    train_data
        A :class:`BatchSource` (e.g. :class:`TensorData`, :class:`ListData`), reshuffled at
        every pass with a generator seeded by ``config.seed``, or, in step mode, a
        :class:`BatchStream`.
    val_data
        A :class:`BatchSource` scored at the end of every period (epoch, or ``eval_every``
        steps). Without it there is no early stopping and the last weights are kept.
    loss_fn
        ``loss_fn(module, batch) -> scalar tensor``: runs the forward pass on one batch (already
        on the device) and returns its mean loss.
    config
        :class:`TrainConfig`. ``max_steps`` selects step mode; ``checkpoint_dir`` (with
        ``resume``) makes the run resumable.
    hooks
        One :class:`TrainHooks` or a sequence of them; ``on_epoch_end`` runs after every period.
    lr_scale
        Per-submodule learning-rate multipliers, e.g. ``{"encoder": 0.1}`` for a pretrained
        encoder under a fresh head: the parameters under each named submodule form their own
        AdamW group at ``factor * lr`` (same warmup and cosine); all others train at ``lr``.

    Returns
    -------
    TrainResult
        ``history`` has one dict per period: in epoch mode ``epoch, train_loss, val_loss, lr,
        seconds, samples_per_s``; in step mode ``step, train_loss, val_loss, lr, seconds`` and
        ``<unit>_per_s``.

    Raises
    ------
    TrainingInterrupted
        After Ctrl-C or SIGTERM when checkpoints are on (the checkpoint is written first).
    """
    step_mode = config.max_steps is not None
    source: BatchSource | None = None
    if hasattr(train_data, "next_batch"):
        if not step_mode:
            raise ValueError("a BatchStream has no epochs: set max_steps")
    else:
        source = cast(BatchSource, train_data)
        if len(source) == 0:
            raise DrugforgeError("no training examples")
    device = resolve_device(config.device)
    bf16 = autocast_enabled(config.precision, device)
    callbacks = HookList(hooks)
    seed_everything(config.seed)  # dropout masks and anything random inside the forward pass
    rng = np.random.default_rng(config.seed)  # batch order
    module.to(device)

    optimizer = torch.optim.AdamW(
        param_groups(module, config.lr, lr_scale), lr=config.lr,
        weight_decay=config.weight_decay,
    )  # fmt: skip
    stream: BatchStream = (
        cast(BatchStream, train_data)
        if source is None
        else EpochStream(source, config.batch_size, rng)
    )
    if config.max_steps is not None:
        total = config.max_steps
        period = min(config.eval_every or total, total)
        warmup = config.warmup_steps
    else:
        assert source is not None
        period = math.ceil(len(source) / config.batch_size)  # one epoch
        total = config.max_epochs * period
        warmup = max(0, round(config.warmup_epochs * period))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config, warmup, total))
    if val_data is not None and len(val_data) == 0:
        val_data = None
    has_val = val_data is not None

    state = LoopState()
    best_weights: dict[str, Tensor] | None = None
    if config.resume:
        state, best_weights = resume_run(config, module, optimizer, scheduler, stream)
    checkpoint_dir = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    progress = Progress(
        total if step_mode else config.max_epochs,
        "step" if step_mode else "epoch",
        quiet=config.quiet,
        min_total=0,
        completed=state.step if step_mode else len(state.history),
        metrics=True,
        lines_off_terminal=True,  # a long run's log file gets one line per period
    )

    def save_checkpoint() -> Path:
        assert checkpoint_dir is not None
        meta = {"config": config.to_dict(), "loop": asdict(state), "stream": stream.state_dict()}
        return write_checkpoint(
            checkpoint_dir, state.step, module=module, optimizer=optimizer, scheduler=scheduler,
            best_weights=best_weights, meta=meta, keep=config.keep_checkpoints,
        )  # fmt: skip

    def close_period(index: int) -> str:
        """Validate, log, check early stopping at the end of period ``index``; '' = go on."""
        nonlocal best_weights
        t0 = time.perf_counter()
        val_loss = (
            _evaluate_loss(module, val_data, loss_fn, config.batch_size, device, bf16)
            if val_data is not None
            else math.nan
        )
        state.period_seconds += time.perf_counter() - t0
        seconds = state.period_seconds
        rate = state.period_units / max(seconds, 1e-9)
        train_loss = state.period_loss / max(state.period_units, 1)
        logs = {"step": float(state.step)} if step_mode else {"epoch": float(index)}
        logs |= {
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": state.period_lr,
            "seconds": seconds,
            f"{stream.unit}_per_s": rate,
        }
        state.history.append(logs)
        state.period_loss, state.period_units, state.period_seconds = 0.0, 0, 0.0
        if step_mode:
            val = "" if math.isnan(val_loss) else f"  val {val_loss:.4f}"
            progress.line(f"loss {train_loss:.4f}{val}  {rate:,.0f} {stream.unit}/s")
        else:
            progress.update(1, f"{rate:,.0f} {stream.unit}/s", _losses(train_loss, val_loss))
            progress.line(f"{_losses(train_loss, val_loss)}  {rate:,.0f} {stream.unit}/s")
        if not has_val:  # nothing to monitor: the last period is the one kept
            state.best_period, state.best_step = index, state.step
        elif val_loss < state.best_loss - config.min_delta:
            state.best_loss, state.best_period, state.best_step = val_loss, index, state.step
            state.stale = 0
            best_weights = copy.deepcopy(module.state_dict())
        else:
            state.stale += 1
        if callbacks.on_epoch_end(index, logs):
            return "hook"
        if has_val and config.patience is not None and state.stale >= config.patience:
            return "patience"
        return ""

    callbacks.on_train_begin(module, config)
    session_start = time.perf_counter()
    last_val = state.history[-1]["val_loss"] if state.history else math.nan
    try:
        interrupts = Interrupts(enabled=checkpoint_dir is not None)
        with Deterministic(config.deterministic), interrupts as sig:
            while not state.finished and state.stop_reason != "time_budget":
                index = state.step // period + 1  # the current period, 1-based
                period_end = min(total, index * period)
                if state.period_units == 0:
                    state.period_lr = optimizer.param_groups[0]["lr"]
                module.train()
                while state.step < period_end:
                    t0 = time.perf_counter()
                    size, batch = stream.next_batch()
                    batch_in_period = state.step - (index - 1) * period  # 0-based
                    where = (
                        f"step {state.step + 1}"
                        if step_mode
                        else f"epoch {index}, batch {batch_in_period + 1}"
                    )
                    value = _train_step(
                        module, batch, loss_fn, optimizer, scheduler, config, device, bf16, where
                    )
                    state.step += 1
                    state.period_loss += value * size
                    state.period_units += size
                    state.units_seen += size
                    elapsed = time.perf_counter() - t0
                    state.period_seconds += elapsed
                    state.seconds += elapsed
                    callbacks.on_batch_end(index, batch_in_period, value)
                    if step_mode:
                        rate = state.period_units / max(state.period_seconds, 1e-9)
                        running = state.period_loss / max(state.period_units, 1)
                        progress.update(
                            1, f"{rate:,.0f} {stream.unit}/s", _losses(running, last_val)
                        )
                    if state.step == period_end:
                        reason = close_period(index)
                        last_val = state.history[-1]["val_loss"]
                        if state.step == total:
                            reason = "max_steps" if step_mode else "max_epochs"
                        if reason:
                            state.finished, state.stop_reason = True, reason
                    if checkpoint_dir is not None and sig.received and not state.finished:
                        raise TrainingInterrupted(state.step, save_checkpoint(), sig.received)
                    out_of_time = (
                        config.time_budget_s is not None
                        and time.perf_counter() - session_start > config.time_budget_s
                        and not state.finished
                    )
                    every = config.checkpoint_every
                    due = state.finished or out_of_time or (every and state.step % every == 0)
                    if checkpoint_dir is not None and due:
                        save_checkpoint()
                    if out_of_time:  # saved first: the checkpoint is the exact mid-run state
                        state.stop_reason = "time_budget"
                        if state.period_units:  # then report the part-period
                            close_period(index)
                        break
    finally:
        progress.close()

    if best_weights is not None:
        module.load_state_dict(best_weights)
    module.eval()
    result = TrainResult(
        best_epoch=state.best_period,
        best_val_loss=state.best_loss if has_val else math.nan,  # inf if every val loss was NaN
        stopped_early=state.step < total,
        history=list(state.history),
        steps=state.step,
        best_step=state.best_step,
        units_seen=state.units_seen,
        unit=stream.unit,
        seconds=state.seconds,
        stop_reason=state.stop_reason,
    )
    callbacks.on_train_end(result)
    return result


def _losses(train_loss: float, val_loss: float) -> str:
    """The progress bar's metrics text."""
    return f"loss {train_loss:.4f}" + ("" if math.isnan(val_loss) else f" val {val_loss:.4f}")


def _train_step(
    module: nn.Module,
    batch: Batch,
    loss_fn: Callable[[nn.Module, Batch], Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
    device: torch.device,
    bf16: bool,
    where: str,
) -> float:
    """Forward, backward, clip, step; returns the batch loss."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        loss = loss_fn(module, move_to_device(batch, device))
    value = float(loss.detach())
    if not math.isfinite(value):
        raise DrugforgeError(
            f"training diverged: loss is {value} at {where}; "
            f"try a lower learning rate (lr={config.lr:g})"
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip is not None:
        nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
    optimizer.step()
    scheduler.step()
    return value
