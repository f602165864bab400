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

Also here, because every torch predictor needs them: masked multi-task losses (NaN = missing
label), target standardization, a seeded hold-out split, and state-dict <-> numpy conversion.

Of drugforge it imports only ``errors`` and ``train.checkpoint``, so model files may use it
without an import cycle.
"""

from __future__ import annotations

import copy
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import FrameType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drugforge.core.errors import DrugforgeError
from drugforge.core.training.checkpoint import (
    latest_checkpoint,
    read_checkpoint,
    restore_training_state,
    write_checkpoint,
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
    "arrays_to_module",
    "fit_torch",
    "holdout_split",
    "masked_bce_with_logits",
    "masked_loss",
    "masked_mse",
    "module_to_arrays",
    "move_to_device",
    "outputs_to_predictions",
    "predict_torch",
    "resolve_device",
    "seed_everything",
    "validation_targets",
]

Batch = Any
T = TypeVar("T")

# settings a resumed run must share with the checkpoint it continues (the others, such as the
# device, the progress bar or the time budget, may change between sessions)
_RESUME_KEYS = (
    "max_epochs", "lr", "weight_decay", "batch_size", "patience", "min_delta", "grad_clip",
    "seed", "lr_schedule", "warmup_epochs", "min_lr_ratio", "max_steps", "warmup_steps",
    "eval_every",
)  # fmt: skip


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


# ------------------------------------------------------------------------------------ data
class BatchSource(Protocol):
    """Indexable training data: ``len()`` examples; ``batch(idx)`` builds one batch of them."""

    def __len__(self) -> int: ...

    def batch(self, idx: np.ndarray) -> Batch: ...


class TensorData:
    """Examples stored as rows of equally long tensors; a batch is the tuple of row slices."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorData needs one or more tensors of equal length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def batch(self, idx: np.ndarray) -> tuple[Tensor, ...]:
        index = torch.as_tensor(idx, dtype=torch.long)
        return tuple(t[index] for t in self.tensors)


class ListData(Generic[T]):
    """Examples stored as a list; a batch is ``collate([items[i] for i in idx])``."""

    def __init__(self, items: Sequence[T], collate: Callable[[list[T]], Batch]) -> None:
        self.items = items
        self.collate = collate

    def __len__(self) -> int:
        return len(self.items)

    def batch(self, idx: np.ndarray) -> Batch:
        return self.collate([self.items[int(i)] for i in idx])


def iter_batches(
    data: BatchSource, batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[tuple[int, Batch]]:
    """Yield ``(n_examples, batch)``; shuffled by ``rng`` when given, else in order."""
    n = len(data)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield len(idx), data.batch(idx)


def move_to_device(batch: Batch, device: torch.device) -> Batch:
    """Move tensors (also inside tuples, lists, dicts, or objects with ``.to``) to ``device``."""
    if batch is None:
        return None
    if isinstance(batch, Tensor) or hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, tuple):
        return tuple(move_to_device(b, device) for b in batch)
    if isinstance(batch, list):
        return [move_to_device(b, device) for b in batch]
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    return batch




class BatchStream(Protocol):
    """Training batches drawn one after another from data too big to index (a corpus file).

    The stream owns its seeded order and saves and restores its position as JSON, so a resumed
    run continues with the very batch the interrupted run would have drawn next. Used in step
    mode (``TrainConfig.max_steps``) only: a stream has no epochs.
    """

    unit: str  # what a batch's size counts, shown as a rate ("tokens" -> tokens/s)

    def next_batch(self) -> tuple[int, Batch]:
        """``(size, batch)``: the batch and its size in :attr:`unit` (weights its loss)."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class _EpochStream:
    """A :class:`BatchSource` as a :class:`BatchStream`: passes in a fresh shuffle each time.

    Each pass draws ``rng.permutation(n)`` and cuts it into batches, exactly as
    :func:`iter_batches` does; the saved position is the generator state before the current
    pass's permutation and the offset into it.
    """

    unit = "samples"

    def __init__(self, data: BatchSource, batch_size: int, rng: np.random.Generator) -> None:
        self.data, self.batch_size, self.rng = data, batch_size, rng
        self._order: np.ndarray | None = None
        self._offset = 0
        self._rng_at_pass: dict[str, Any] = dict(rng.bit_generator.state)

    def next_batch(self) -> tuple[int, Batch]:
        if self._order is None or self._offset >= len(self._order):
            self._rng_at_pass = dict(self.rng.bit_generator.state)
            self._order = self.rng.permutation(len(self.data))
            self._offset = 0
        idx = self._order[self._offset : self._offset + self.batch_size]
        self._offset += len(idx)
        return len(idx), self.data.batch(idx)

    def state_dict(self) -> dict[str, Any]:
        started = self._order is not None
        return {
            "rng": self._rng_at_pass if started else self.rng.bit_generator.state,
            "offset": self._offset if started else None,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.bit_generator.state = dict(state["rng"])
        self._rng_at_pass = dict(state["rng"])
        if state["offset"] is None:
            self._order, self._offset = None, 0
        else:
            self._order = self.rng.permutation(len(self.data))
            self._offset = int(state["offset"])


# ----------------------------------------------------------------------------- determinism
def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str) -> torch.device:
    """``'auto'`` -> CUDA when available, else CPU; ``'cuda'`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise DrugforgeError("device 'cuda' requested but no CUDA GPU is available")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; choose from: cpu, cuda, auto")
    return torch.device(device)


class _Deterministic:
    """Turn on deterministic algorithms for a block and restore the previous setting after."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        self._prev = torch.are_deterministic_algorithms_enabled()
        self._prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
        if self.enabled:
            # cuBLAS needs this to be deterministic; it only has effect before CUDA starts.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)

    def __exit__(self, *exc: object) -> None:
        torch.use_deterministic_algorithms(self._prev, warn_only=self._prev_warn)


# ---------------------------------------------------------------------------------- hooks
class TrainHooks:
    """Callbacks of :func:`fit_torch`; subclass and override what you need (all no-ops here).

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


class _HookList(TrainHooks):
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



class _ProgressBar:
    """Bar on stderr: epoch (or step) m/n, train and val loss, rate, elapsed and ETA.

    When stderr is not a terminal (a log file of a long run) a live bar shows nothing until the
    end, so step mode prints one plain line per period instead (:meth:`period_line`).
    """

    def __init__(self, total: int, label: str, quiet: bool, completed: int = 0) -> None:
        self._bar: Any = None
        self._plain = False
        if quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(file=sys.stderr)
        if not console.is_terminal and label == "step":
            self._plain = True
            self._label, self._total, self._start = label, total, completed
            self._t0 = time.perf_counter()
            return
        self._bar = Progress(
            TextColumn(f"[bold]{label}"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[losses]}"),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            "train", total=total, completed=completed, losses="", rate=""
        )

    def update(self, advance: int, train_loss: float, val_loss: float, rate: str) -> None:
        if self._bar is None:
            return
        losses = f"loss {train_loss:.4f}" + ("" if math.isnan(val_loss) else f" val {val_loss:.4f}")
        self._bar.update(self._task, advance=advance, losses=losses, rate=rate)

    def period_line(self, done: int, train_loss: float, val_loss: float, rate: str) -> None:
        """One plain line at the end of a period (only when stderr is not a terminal)."""
        if not self._plain:
            return
        elapsed = time.perf_counter() - self._t0
        speed = (done - self._start) / max(elapsed, 1e-9)
        eta = (self._total - done) / speed if speed > 0 else math.nan
        val = "" if math.isnan(val_loss) else f"  val {val_loss:.4f}"
        print(f"{self._label} {done}/{self._total}  loss {train_loss:.4f}{val}  {rate}  "
              f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}", file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Interrupts:
    """While active, Ctrl-C or SIGTERM asks the loop to stop after the current step (so that it
    can save a checkpoint); a second Ctrl-C interrupts at once. Signal handlers can only be set
    from the main thread; elsewhere this does nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Self:
        if self.enabled and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


# --------------------------------------------------------------------------------- the loop
def _scheduler_factors(scheduler: torch.optim.lr_scheduler.LRScheduler) -> list[float]:
    """The learning-rate multipliers a LambdaLR gives at its current step."""
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if lambdas is None:
        return [1.0 for _ in scheduler.optimizer.param_groups]
    return [float(f(scheduler.last_epoch)) for f in lambdas]


def _param_groups(
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


def _lr_lambda(config: TrainConfig, warmup: int, total: int) -> Callable[[int], float]:
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


def _autocast_enabled(precision: str, device: torch.device) -> bool:
    """bf16 autocast: asked for, or ``auto`` on a CUDA device that supports it; else fp32."""
    if precision == "bf16":
        return True
    return precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()


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


@dataclass
class _LoopState:
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
    bf16 = _autocast_enabled(config.precision, device)
    callbacks = _HookList(hooks)
    seed_everything(config.seed)  # dropout masks and anything random inside the forward pass
    rng = np.random.default_rng(config.seed)  # batch order
    module.to(device)

    optimizer = torch.optim.AdamW(
        _param_groups(module, config.lr, lr_scale), lr=config.lr,
        weight_decay=config.weight_decay,
    )  # fmt: skip
    stream: BatchStream = (
        cast(BatchStream, train_data)
        if source is None
        else _EpochStream(source, config.batch_size, rng)
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
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, warmup, total))
    if val_data is not None and len(val_data) == 0:
        val_data = None
    has_val = val_data is not None

    state = _LoopState()
    best_weights: dict[str, Tensor] | None = None
    if config.resume:
        state, best_weights = _resume(config, module, optimizer, scheduler, stream)
    checkpoint_dir = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    progress = _ProgressBar(
        total if step_mode else config.max_epochs,
        "step" if step_mode else "epoch",
        config.quiet,
        completed=state.step if step_mode else len(state.history),
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
            progress.period_line(state.step, train_loss, val_loss, f"{rate:,.0f} {stream.unit}/s")
        else:
            progress.update(1, train_loss, val_loss, f"{rate:,.0f} {stream.unit}/s")
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
        with _Deterministic(config.deterministic), _Interrupts(checkpoint_dir is not None) as sig:
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
                        progress.update(1, running, last_val, f"{rate:,.0f} {stream.unit}/s")
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


def _resume(
    config: TrainConfig,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    stream: BatchStream,
) -> tuple[_LoopState, dict[str, Tensor] | None]:
    """Load the newest checkpoint of ``config.checkpoint_dir`` into every part of the run."""
    assert config.checkpoint_dir is not None
    path = latest_checkpoint(config.checkpoint_dir)
    if path is None:
        raise DrugforgeError("no checkpoint to resume from", path=config.checkpoint_dir)
    checkpoint = read_checkpoint(path)
    saved = checkpoint.meta.get("config", {})
    for key in _RESUME_KEYS:
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
    state = _LoopState(**{f.name: loop[f.name] for f in fields(_LoopState) if f.name in loop})
    if config.reschedule and config.max_steps is not None:
        if config.max_steps <= state.step:
            raise DrugforgeError(
                f"max_steps {config.max_steps} is not beyond the checkpoint's step {state.step}",
                path=path,
            )
        if state.finished and state.stop_reason == "max_steps":  # a finished run goes on
            state.finished, state.stop_reason = False, ""
        # the optimizer's learning rate was loaded from the old schedule: set the new one's
        for group, factor in zip(optimizer.param_groups, _scheduler_factors(scheduler)):
            group["lr"] = group["initial_lr"] * factor
    return state, checkpoint.best
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


# ------------------------------------------------------------------------- masked losses
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


# ------------------------------------------------------------ helpers for torch predictors
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
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.std

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
        return np.asarray(y, dtype=np.float64) * self.std + self.mean


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
