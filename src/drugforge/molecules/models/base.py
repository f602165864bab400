"""The contract every drugforge predictor follows.

Predictors follow the scikit-learn estimator contract: ``__init__`` only stores parameters,
``fit`` returns ``self``, learned state ends in ``_``. ``X`` is a sequence of SMILES strings (already
standardized by the data layer) or RDKit ``Mol`` objects; ``y`` is ``(n,)`` or ``(n, t)`` float
with NaN for a missing label (multi-task with missing labels). Classification targets are 0/1.

A fitted model is saved without pickle: :meth:`get_state` returns plain arrays (stored in
safetensors) and a JSON-serializable ``meta`` dict; :meth:`from_state` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
from rdkit import Chem
from sklearn.base import BaseEstimator

TaskType = Literal["regression", "classification"]
MolLike = str | Chem.Mol


@dataclass
class ModelState:
    """Everything needed to rebuild a fitted model; nothing in it executes code when loaded."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # -> safetensors
    meta: dict[str, Any] = field(default_factory=dict)  # -> JSON (params, text blobs, shapes)


def as_2d_targets(y: Any) -> np.ndarray:
    """Return ``y`` as a float64 ``(n, t)`` array (NaN = missing)."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"targets must be 1-D or 2-D, got shape {arr.shape}")
    return arr


def as_smiles(X: Sequence[MolLike]) -> list[str]:
    """Accept SMILES or Mols; return SMILES (Mols are written canonical)."""
    out: list[str] = []
    for x in X:
        if isinstance(x, Chem.Mol):
            out.append(Chem.MolToSmiles(x))
        else:
            out.append(str(x))
    return out


def check_state_format(meta: dict[str, Any], name: str, fmt: int) -> None:
    """Refuse a saved state that belongs to another model class or state format version."""
    if meta.get("model") != name or int(meta.get("format", -1)) != fmt:
        raise ValueError(
            f"state is not a {name} model of format {fmt} "
            f"(got model={meta.get('model')!r}, format={meta.get('format')!r})"
        )


class MolecularPredictor(BaseEstimator):  # type: ignore[misc]
    """Base class: subclasses implement ``fit``, ``predict_dist``, ``get_state``, ``from_state``."""

    name: ClassVar[str] = "base"
    #: True when ``predict_dist`` returns a native spread (ensemble std, GP std)
    native_uncertainty: ClassVar[bool] = False

    task: TaskType

    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Fit on ``X``/``y``; ``X_val``/``y_val`` (optional) is used for early stopping only."""
        raise NotImplementedError

    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(mean, std)``, each ``(n, t)``. ``std`` is ``None`` without native uncertainty.

        For classification ``mean`` is the probability of the positive class.
        """
        raise NotImplementedError

    def predict(self, X: Sequence[MolLike]) -> np.ndarray:
        """``(n, t)`` predictions: values (regression) or P(positive) (classification)."""
        return self.predict_dist(X)[0]

    def predict_proba(self, X: Sequence[MolLike]) -> np.ndarray:
        """scikit-learn style ``(n, 2)`` probabilities for a single-task classifier."""
        if self.task != "classification":
            raise AttributeError("predict_proba is only available for classification")
        p = self.predict(X)
        if p.shape[1] != 1:
            raise ValueError("predict_proba is single-task; use predict() for P(positive) per task")
        return np.hstack([1.0 - p, p])

    def get_state(self) -> ModelState:
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        raise NotImplementedError

    @property
    def n_tasks(self) -> int:
        return int(self.n_tasks_)
