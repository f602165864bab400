"""How training data reaches :func:`~drugforge.core.training.loop.fit_torch`: batch sources and
streams.

* :class:`BatchSource`: indexable data (``len()`` examples, ``batch(idx)`` builds a batch), such as
  :class:`TensorData` (rows of tensors) or :class:`ListData` (a list and a collate function).
  The loop shuffles it at every pass through :class:`EpochStream`.
* :class:`BatchStream`: batches drawn one after another from data too big to index (a corpus
  file), with its own seeded order and a position saved in checkpoints.

:func:`move_to_device` puts any batch (tensors, tuples, dicts, objects with ``.to``) on a device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "Batch",
    "BatchSource",
    "BatchStream",
    "EpochStream",
    "ListData",
    "TensorData",
    "iter_batches",
    "move_to_device",
]

Batch = Any
T = TypeVar("T")


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


class EpochStream:
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
