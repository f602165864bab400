"""What the modality-neutral parts of drugforge (splits, model selection, fit-and-evaluate) need
from a labelled dataset, whatever its inputs are.

A modality's dataset (molecules: :class:`drugforge.molecules.data.dataset.MoleculeDataset`)
satisfies :class:`Dataset` structurally; it does not derive from it. ``inputs`` are what the
modality's models take in ``fit``/``predict`` (SMILES strings for molecules; sequences, texts or
image paths for the others), in the same order as the rows of ``y``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

__all__ = ["Dataset"]


@runtime_checkable
class Dataset(Protocol):
    """Labelled rows: model inputs, an ``(n, t)`` label matrix and per-row side columns."""

    # read-only properties, so that a dataclass field of a narrower type (a task Literal) fits
    @property
    def inputs(self) -> Sequence[Any]:
        """The ``n`` model inputs, in row order."""
        ...

    @property
    def y(self) -> np.ndarray:
        """``(n, t)`` float64 labels, NaN = missing."""
        ...

    @property
    def target_names(self) -> list[str]:
        """The ``t`` target names."""
        ...

    @property
    def task(self) -> str:
        """``'regression'`` or ``'classification'`` (labels 0/1)."""
        ...

    @property
    def extra(self) -> dict[str, np.ndarray]:
        """Per-row side columns carried through (a ``split`` column, cliff labels)."""
        ...

    def __len__(self) -> int: ...

    def subset(self, idx: Sequence[int] | np.ndarray) -> Self:
        """A new dataset with the rows at positions ``idx`` (in that order)."""
        ...
