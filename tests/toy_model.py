"""A toy model family, written the way a new one is added: this file plus one registry line.

``HeavyAtomLine`` fits a least-squares line on the heavy-atom count per target. It exists to
show (tests/test_new_model_family.py) that train, save, load and predict through the CLI need
nothing else from a new model family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
from rdkit import Chem

from drugforge.molecules.models.base import (
    ModelState,
    MolecularPredictor,
    MolLike,
    TaskType,
    as_2d_targets,
    check_state_format,
)


class HeavyAtomLine(MolecularPredictor):
    """Least-squares line on the heavy-atom count (regression)."""

    name: ClassVar[str] = "toy-line"
    FORMAT: ClassVar[int] = 1

    def __init__(self, task: TaskType = "regression") -> None:
        self.task = task

    @staticmethod
    def _design(X: Sequence[MolLike]) -> np.ndarray:
        mols = [x if isinstance(x, Chem.Mol) else Chem.MolFromSmiles(x) for x in X]
        if any(m is None for m in mols):
            raise ValueError("invalid SMILES")
        counts = np.array([m.GetNumHeavyAtoms() for m in mols], dtype=np.float64)
        return np.column_stack([counts, np.ones_like(counts)])  # (n, 2)

    def fit(self, X: Sequence[MolLike], y: Any, X_val: Any = None, y_val: Any = None) -> Self:
        Y = as_2d_targets(y)  # (n, t)
        A = self._design(X)
        coef = []
        for t in range(Y.shape[1]):
            mask = np.isfinite(Y[:, t])
            coef.append(np.linalg.lstsq(A[mask], Y[mask, t], rcond=None)[0])
        self.coef_ = np.stack(coef, axis=1)  # (2, t)
        self.n_tasks_ = Y.shape[1]
        return self

    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, None]:
        return self._design(X) @ self.coef_, None  # (n, t)

    def get_state(self) -> ModelState:
        return ModelState(arrays={"coef": self.coef_},
                          meta={"model": self.name, "format": self.FORMAT, "task": self.task})

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        check_state_format(state.meta, cls.name, cls.FORMAT)
        model = cls(task=state.meta["task"])
        model.coef_ = state.arrays["coef"]
        model.n_tasks_ = model.coef_.shape[1]
        return model
