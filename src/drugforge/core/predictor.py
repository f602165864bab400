"""The contract every drugforge predictor follows, whatever its input kind.

Predictors follow the scikit-learn estimator contract: ``__init__`` only stores parameters,
``fit`` returns ``self``, learned state ends in ``_``. ``y`` is ``(n,)`` or ``(n, t)`` float with
NaN for a missing label (multi-task with missing labels); classification targets are 0/1.

What ``X`` holds depends on the model's **input kind** (:attr:`Predictor.input_kind`): molecules
(SMILES or RDKit Mols) today, then protein sequences, molecule-target pairs, texts, images, event
sequences and expression profiles. Each modality package derives its base class from
:class:`Predictor` and says how raw user inputs become model inputs
(:meth:`Predictor.prepare_inputs`: molecules are standardized; a bad input gets ``None`` and an
error text, never a silent zero vector), so that one predict path
(:meth:`drugforge.core.artifacts.LoadedModel.predict`) serves every kind.

A fitted model is saved without pickle: :meth:`Predictor.get_state` returns plain arrays (stored
in safetensors) and a JSON-serializable ``meta`` dict; :meth:`Predictor.from_state` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
from sklearn.base import BaseEstimator

__all__ = [
    "ClassWeight",
    "ModelState",
    "Predictor",
    "TaskType",
    "as_2d_targets",
    "balanced_pos_weight",
    "balanced_sample_weight",
    "check_class_weight",
    "check_state_format",
]

TaskType = Literal["regression", "classification"]
#: class-imbalance handling of a classifier: ``"balanced"`` weighs each task's classes by the
#: inverse of their frequency among that task's labelled rows; ``None`` weighs every row the same
ClassWeight = Literal["balanced"] | None


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


def check_class_weight(class_weight: Any) -> ClassWeight:
    """``class_weight`` if it is ``None`` or ``"balanced"``; anything else is a ValueError."""
    if class_weight not in (None, "balanced"):
        raise ValueError(f"unknown class_weight {class_weight!r}; choose from: balanced, None")
    return class_weight  # type: ignore[no-any-return]


def balanced_pos_weight(Y: np.ndarray) -> np.ndarray:
    """Per task, ``n_neg / n_pos`` over the labelled (0/1, NaN = missing) rows of ``Y`` ``(n, t)``.

    The weight of a positive label in a binary cross-entropy, so that each task's positives weigh
    as much in total as its negatives. A task without positives or negatives gets 1.
    """
    Y = as_2d_targets(Y)
    n_pos = np.nansum(Y == 1.0, axis=0).astype(np.float64)
    n_neg = np.nansum(Y == 0.0, axis=0).astype(np.float64)
    ok = (n_pos > 0) & (n_neg > 0)
    return np.where(ok, n_neg / np.where(ok, n_pos, 1.0), 1.0)


def balanced_sample_weight(y: np.ndarray, y_ref: np.ndarray | None = None) -> np.ndarray:
    """scikit-learn's ``"balanced"`` row weights for one task's labels ``y`` (0/1, no NaN): a row
    of class ``c`` weighs ``n / (2 n_c)``, counted in ``y_ref`` (default ``y``: the weights then
    sum to ``n``). A class absent from ``y_ref`` weighs 1. Validation rows get the training
    labels' weights by passing those as ``y_ref``."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    ref = y if y_ref is None else np.asarray(y_ref, dtype=np.float64).reshape(-1)
    n_pos = float((ref == 1.0).sum())
    n_neg = float(len(ref) - n_pos)
    w_pos = len(ref) / (2.0 * n_pos) if n_pos and n_neg else 1.0
    w_neg = len(ref) / (2.0 * n_neg) if n_pos and n_neg else 1.0
    return np.where(y == 1.0, w_pos, w_neg)


def check_state_format(meta: dict[str, Any], name: str, fmt: int) -> None:
    """Refuse a saved state that belongs to another model class or state format version."""
    if meta.get("model") != name or int(meta.get("format", -1)) != fmt:
        raise ValueError(
            f"state is not a {name} model of format {fmt} "
            f"(got model={meta.get('model')!r}, format={meta.get('format')!r})"
        )


class Predictor(BaseEstimator):
    """Base class: subclasses implement ``fit``, ``predict_dist``, ``get_state``, ``from_state``."""

    #: registry name (``--model NAME``), stored in the saved state
    name: ClassVar[str] = "base"
    #: what ``X`` holds ("molecules", "sequences", "pairs", "texts", "images", ...)
    input_kind: ClassVar[str] = "any"
    #: True when ``predict_dist`` returns a native spread (ensemble std, GP std)
    native_uncertainty: ClassVar[bool] = False

    task: TaskType

    @classmethod
    def prepare_inputs(
        cls, raw: Sequence[Any], settings: Mapping[str, Any]
    ) -> tuple[list[Any], list[str]]:
        """Raw user inputs -> (model inputs, error text per row), same length and order.

        A row that cannot be used gets ``None`` and a one-line reason. ``settings`` are the
        input-preparation settings saved with the model (molecules: the standardizer). The base
        class passes inputs through unchanged.
        """
        return list(raw), [""] * len(raw)

    def fit(
        self,
        X: Sequence[Any],
        y: Any,
        X_val: Sequence[Any] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Fit on ``X``/``y``; ``X_val``/``y_val`` (optional) is used for early stopping only."""
        raise NotImplementedError

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(mean, std)``, each ``(n, t)``. ``std`` is ``None`` without native uncertainty.

        For classification ``mean`` is the probability of the positive class.
        """
        raise NotImplementedError

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        """``(n, t)`` predictions: values (regression) or P(positive) (classification)."""
        return self.predict_dist(X)[0]

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        """scikit-learn style ``(n, 2)`` probabilities for a single-task classifier."""
        if self.task != "classification":
            raise AttributeError("predict_proba is only available for classification")
        p = self.predict(X)
        if p.shape[1] != 1:
            raise ValueError("predict_proba is single-task; use predict() for P(positive) per task")
        return np.hstack([1.0 - p, p])

    def predict_dist_features(self, F: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(mean, std)`` from features a caller computed once for several models; only models
        that expose their featurizers (a modality's contract says how) implement it."""
        raise NotImplementedError(f"{type(self).__name__} featurizes for itself")

    def get_state(self) -> ModelState:
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        raise NotImplementedError

    @property
    def n_tasks(self) -> int:
        return int(self.n_tasks_)
