"""Gradient-boosted trees on concatenated molecule and sequence features (``name='pair-gbm'``).

The strong classical baseline of drug-target affinity (SimBoost-style boosting, without its
hand-made neighbour features): LightGBM on ``[molecule features, sequence features]`` of each
pair. ``n_members`` boosters from different seeds, each on a row and column subsample, form a
bagged ensemble whose spread is the native uncertainty. With validation pairs, the number of
trees of each booster is chosen by early stopping. Boosters are saved in LightGBM's text format
(in ``meta``), which loads without executing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from drugforge.core.predictor import ModelState, TaskType, as_2d_targets, check_state_format
from drugforge.interactions.models.base import (
    PairPredictor,
    as_pairs,
    ensemble_dist,
    featurize_pairs,
    noise_variance,
)

__all__ = ["PairGBM"]

_FORMAT = 1


class PairGBM(PairPredictor):
    """Bagged LightGBM regressor on pair features.

    Parameters
    ----------
    drug_featurizers, target_featurizers
        Registered molecule and protein featurizer names; features are concatenated.
    n_members
        Boosters in the bag (seeds ``seed .. seed + n_members - 1``).
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree
        LightGBM settings of every booster.
    n_threads
        LightGBM threads (results are deterministic for a seed and thread count).
    """

    name = "pair-gbm"
    native_uncertainty = True

    def __init__(
        self,
        task: TaskType = "regression",
        drug_featurizers: Sequence[str] = ("ecfp_count",),
        target_featurizers: Sequence[str] = ("composition",),
        n_members: int = 3,
        n_estimators: int = 2000,
        learning_rate: float = 0.05,
        num_leaves: int = 63,
        min_child_samples: int = 10,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        n_threads: int = 2,
        seed: int = 0,
        quiet: bool = True,
    ) -> None:
        self.task = task
        self.drug_featurizers = drug_featurizers
        self.target_featurizers = target_featurizers
        self.n_members = n_members
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.n_threads = n_threads
        self.seed = seed
        self.quiet = quiet

    def _matrix(self, X: Sequence[Any]) -> np.ndarray:
        pairs = as_pairs(X)
        return featurize_pairs(pairs, list(self.drug_featurizers),
                               list(self.target_featurizers)).dense()  # fmt: skip

    def _params(self, k: int) -> dict[str, Any]:
        return {
            "objective": "regression", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
            "subsample": self.subsample, "subsample_freq": 1,
            "colsample_bytree": self.colsample_bytree, "num_threads": self.n_threads,
            "seed": self.seed + k, "deterministic": True, "force_row_wise": True,
            "verbosity": -1,
        }  # fmt: skip

    def fit(
        self, X: Sequence[Any], y: Any, X_val: Sequence[Any] | None = None, y_val: Any = None
    ) -> Self:
        if self.task != "regression":
            raise ValueError(f"pair-gbm predicts affinities (regression); got task {self.task!r}")
        Y = as_2d_targets(y)
        if Y.shape[1] != 1:
            raise ValueError(f"pair-gbm predicts one affinity per pair, got {Y.shape[1]} targets")
        keep = ~np.isnan(Y[:, 0])
        F = self._matrix([p for p, k in zip(as_pairs(X), keep, strict=True) if k])
        train = lgb.Dataset(F, Y[keep, 0], free_raw_data=False)
        valid = None
        if X_val is not None and len(X_val):
            Yv = as_2d_targets(y_val)
            ok = ~np.isnan(Yv[:, 0])
            if ok.any():
                Fv = self._matrix([p for p, k in zip(as_pairs(X_val), ok, strict=True) if k])
                yv = Yv[ok, 0]
                valid = lgb.Dataset(Fv, yv, reference=train)
        self.boosters_: list[lgb.Booster] = []
        for k in range(self.n_members):
            callbacks: list[Any] = []
            if valid is not None:
                callbacks.append(lgb.early_stopping(100, verbose=False))
            booster = lgb.train(self._params(k), train, num_boost_round=self.n_estimators,
                                valid_sets=[valid] if valid is not None else None,
                                callbacks=callbacks)  # fmt: skip
            self.boosters_.append(booster)
        self.noise_var_ = noise_variance(yv, self._member_preds(Fv)) if valid is not None else 0.0
        self.n_tasks_ = 1
        return self

    def _member_preds(self, F: np.ndarray) -> np.ndarray:
        return np.stack([
            b.predict(F, num_iteration=b.best_iteration or None, num_threads=self.n_threads)
            for b in self.boosters_
        ])  # (members, n)

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        return ensemble_dist(self._member_preds(self._matrix(X)), self.noise_var_)

    def get_state(self) -> ModelState:
        params = self.get_params()
        params["drug_featurizers"] = list(self.drug_featurizers)
        params["target_featurizers"] = list(self.target_featurizers)
        models = [b.model_to_string(num_iteration=b.best_iteration or None) for b in self.boosters_]
        return ModelState({}, {"model": self.name, "format": _FORMAT, "params": params,
                               "boosters": models, "noise_var": self.noise_var_})  # fmt: skip

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        check_state_format(state.meta, cls.name, _FORMAT)
        model = cls(**state.meta["params"])
        model.boosters_ = [lgb.Booster(model_str=text) for text in state.meta["boosters"]]
        model.noise_var_ = float(state.meta["noise_var"])
        model.n_tasks_ = 1
        return model
