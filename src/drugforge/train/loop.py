"""The one training loop for every torch model in drugforge.

A model brings three things: an ``nn.Module``, its data as a :class:`BatchSource` (``len()`` and
``batch(indices)``), and a ``loss_fn(module, batch) -> scalar`` that runs the forward pass.
Everything else (seeding, shuffling, AdamW, warmup + cosine learning rate, gradient clipping,
early stopping with best-weight restore, progress) lives here once. Behaviour that differs between
uses (logging, extra stopping rules, RL-style updates later) goes into :class:`TrainHooks`, the way
REINVENT4 varies one learning loop by its hooks instead of copying it.

Also here, because every torch predictor needs them: masked multi-task losses (NaN = missing
label), target standardization, a seeded hold-out split, and state-dict <-> numpy conversion.

Of drugforge it imports only ``errors``, so model files may use it without an import cycle.
"""

from __future__ import annotations

import copy
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Generic, Literal, Protocol, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drugforge.errors import DrugforgeError

__all__ = [
    "BatchSource",
    "ColumnScaler",
    "ListData",
    "TensorData",
    "TrainConfig",
    "TrainHooks",
    "TrainResult",
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


# ---------------------------------------------------------------------------------- config
@dataclass
class TrainConfig:
    """How to train; the model's architecture lives in the model's own config."""

    max_epochs: int = 100
    lr: float = 1e-3  # peak learning rate (after warmup)
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    batch_size: int = 64
    patience: int | None = 10  # epochs without val improvement before stopping; None = never
    min_delta: float = 0.0  # an improvement must lower the val loss by more than this
    grad_clip: float | None = 5.0  # max global gradient norm; None = no clipping
    seed: int = 0
    lr_schedule: Literal["cosine", "constant"] = "cosine"  # linear warmup, then cosine decay
    warmup_epochs: float = 2.0  # linear warmup from lr * min_lr_ratio to lr
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio at max_epochs
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    deterministic: bool = True  # torch.use_deterministic_algorithms during the fit
    quiet: bool = False  # no progress bar

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

    best_epoch: int  # 1-based; the epoch whose weights the module now holds
    best_val_loss: float  # NaN when there was no validation data
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per epoch


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
    """Epoch bar on stderr: epoch m/n, train and val loss, samples/s, elapsed and ETA."""

    def __init__(self, total_epochs: int, quiet: bool) -> None:
        self._bar: Any = None
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

        self._bar = Progress(
            TextColumn("[bold]epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[losses]}"),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
        )
        self._bar.start()
        self._task = self._bar.add_task("train", total=total_epochs, losses="", rate="")

    def update(self, logs: dict[str, float]) -> None:
        if self._bar is None:
            return
        val = logs["val_loss"]
        losses = f"loss {logs['train_loss']:.4f}" + ("" if math.isnan(val) else f" val {val:.4f}")
        rate = f"{logs['samples_per_s']:,.0f} samples/s"
        self._bar.update(self._task, advance=1, losses=losses, rate=rate)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


# --------------------------------------------------------------------------------- the loop
def _lr_lambda(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """Multiplier of ``config.lr`` at optimizer step ``s``: linear warmup, then cosine decay."""
    warmup = max(0, round(config.warmup_epochs * steps_per_epoch))
    total = max(1, config.max_epochs * steps_per_epoch)
    floor = config.min_lr_ratio

    def factor(step: int) -> float:
        if config.lr_schedule == "constant":
            return 1.0
        if step < warmup:
            return floor + (1.0 - floor) * step / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _evaluate_loss(
    module: nn.Module,
    data: BatchSource,
    loss_fn: Callable[[nn.Module, Batch], Tensor],
    batch_size: int,
    device: torch.device,
) -> float:
    """Mean loss over ``data`` (batch losses weighted by batch size), in eval mode."""
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for n, batch in iter_batches(data, batch_size):
            total += float(loss_fn(module, move_to_device(batch, device))) * n
            count += n
    return total / max(1, count)


def _train_epoch(
    module: nn.Module,
    data: BatchSource,
    loss_fn: Callable[[nn.Module, Batch], Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    rng: np.random.Generator,
    epoch: int,
    config: TrainConfig,
    device: torch.device,
    callbacks: TrainHooks,
) -> tuple[float, int]:
    """One pass over shuffled ``data``; returns (mean training loss, examples seen)."""
    module.train()
    total, count = 0.0, 0
    for step, (n, batch) in enumerate(iter_batches(data, config.batch_size, rng)):
        loss = loss_fn(module, move_to_device(batch, device))
        value = float(loss.detach())
        if not math.isfinite(value):
            raise DrugforgeError(
                f"training diverged: loss is {value} at epoch {epoch}, batch {step + 1}; "
                f"try a lower learning rate (lr={config.lr:g})"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        total += value * n
        count += n
        callbacks.on_batch_end(epoch, step, value)
    return total / count, count


def fit_torch(
    module: nn.Module,
    train_data: BatchSource,
    val_data: BatchSource | None,
    loss_fn: Callable[[nn.Module, Batch], Tensor],
    config: TrainConfig,
    hooks: TrainHooks | Sequence[TrainHooks] | None = None,
) -> TrainResult:
    """Train ``module`` in place and leave it holding the weights of the best epoch.

    Parameters
    ----------
    module
        Any ``nn.Module``; it is moved to ``config.device``. Build it after
        ``seed_everything(config.seed)`` for reproducible initial weights.
    train_data, val_data
        :class:`BatchSource` objects (e.g. :class:`TensorData`, :class:`ListData`). Training
        batches are reshuffled every epoch with a generator seeded by ``config.seed``.
        Without ``val_data`` there is no early stopping and the last epoch is kept.
    loss_fn
        ``loss_fn(module, batch) -> scalar tensor``: runs the forward pass on one batch (already
        on the device) and returns its mean loss.
    config
        :class:`TrainConfig`.
    hooks
        One :class:`TrainHooks` or a sequence of them.

    Returns
    -------
    TrainResult
        ``history`` has one dict per epoch: ``epoch, train_loss, val_loss, lr, seconds,
        samples_per_s``.
    """
    if len(train_data) == 0:
        raise DrugforgeError("no training examples")
    device = resolve_device(config.device)
    callbacks = _HookList(hooks)
    seed_everything(config.seed)  # dropout masks and anything random inside the forward pass
    rng = np.random.default_rng(config.seed)  # batch order
    module.to(device)

    optimizer = torch.optim.AdamW(
        module.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, steps_per_epoch))
    if val_data is not None and len(val_data) == 0:
        val_data = None
    has_val = val_data is not None

    best_loss, best_epoch, best_weights = math.inf, 0, None
    stale, stopped_early = 0, False
    history: list[dict[str, float]] = []
    progress = _ProgressBar(config.max_epochs, config.quiet)
    callbacks.on_train_begin(module, config)
    try:
        with _Deterministic(config.deterministic):
            for epoch in range(1, config.max_epochs + 1):
                t0 = time.perf_counter()
                lr_now = optimizer.param_groups[0]["lr"]
                train_loss, n_seen = _train_epoch(
                    module, train_data, loss_fn, optimizer, scheduler, rng, epoch, config,
                    device, callbacks,
                )  # fmt: skip
                val_loss = (
                    _evaluate_loss(module, val_data, loss_fn, config.batch_size, device)
                    if val_data is not None
                    else math.nan
                )
                seconds = time.perf_counter() - t0
                logs = {
                    "epoch": float(epoch),
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "lr": lr_now,
                    "seconds": seconds,
                    "samples_per_s": n_seen / max(seconds, 1e-9),
                }
                history.append(logs)
                progress.update(logs)

                if not has_val:  # nothing to monitor: the last epoch is the one kept
                    best_epoch = epoch
                elif val_loss < best_loss - config.min_delta:
                    best_loss, best_epoch, stale = val_loss, epoch, 0
                    best_weights = copy.deepcopy(module.state_dict())
                else:
                    stale += 1
                hook_stop = callbacks.on_epoch_end(epoch, logs)
                patience_stop = has_val and config.patience is not None and stale >= config.patience
                if hook_stop or patience_stop:
                    stopped_early = epoch < config.max_epochs
                    break
    finally:
        progress.close()

    if best_weights is not None:
        module.load_state_dict(best_weights)
    module.eval()
    result = TrainResult(
        best_epoch=best_epoch,
        best_val_loss=best_loss if has_val else math.nan,  # inf if every val loss was NaN
        stopped_early=stopped_early,
        history=history,
    )
    callbacks.on_train_end(result)
    return result


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
