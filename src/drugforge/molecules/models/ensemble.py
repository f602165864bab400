"""Ensemble: the average of several fitted predictors, with their spread as uncertainty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from drugforge.molecules.models.base import ModelState, MolecularPredictor, MolLike, TaskType


class Ensemble(MolecularPredictor):
    """Average of ``members`` (registry names); the same name may repeat with other seeds.

    Uncertainty (regression): ``sqrt(var_between_members + mean(native member variance))``, the
    law of total variance over an equally weighted mixture. Classification: the spread of the
    members' probabilities.
    """

    name: ClassVar[str] = "ensemble"
    native_uncertainty: ClassVar[bool] = True

    def __init__(
        self,
        task: TaskType = "regression",
        members: Sequence[str] = ("svm", "gp", "gbm"),
        member_params: dict[str, dict[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        self.task = task
        self.members = members
        self.member_params = member_params
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        from drugforge.molecules.models import build_model, model_param_names

        if len(self.members) == 0:
            raise ValueError("an ensemble needs at least one member")
        fitted: list[MolecularPredictor] = []
        for i, member in enumerate(self.members):
            params = dict((self.member_params or {}).get(member, {}))
            if "seed" in model_param_names(member):
                # repeated members differ by seed; distinct members share the run seed offset
                params.setdefault("seed", self.seed + i)
            fitted.append(build_model(member, self.task, **params).fit(X, y, X_val, y_val))
        self._set_members(fitted)
        return self

    @classmethod
    def from_fitted(cls, members: Sequence[MolecularPredictor], seed: int = 0) -> Ensemble:
        """Wrap already fitted members (e.g. chosen by cross-validation) without refitting."""
        if not members:
            raise ValueError("an ensemble needs at least one member")
        tasks = {m.task for m in members}
        if len(tasks) != 1:
            raise ValueError(f"ensemble members disagree on the task: {sorted(tasks)}")
        ens = cls(task=members[0].task, members=tuple(m.name for m in members), seed=seed)
        ens._set_members(list(members))
        return ens

    def _set_members(self, fitted: list[MolecularPredictor]) -> None:
        n_tasks = {m.n_tasks for m in fitted}
        if len(n_tasks) != 1:
            raise ValueError(f"ensemble members disagree on the number of tasks: {n_tasks}")
        self.members_ = fitted
        self.n_tasks_ = n_tasks.pop()

    # --------------------------------------------------------------- prediction
    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, np.ndarray | None]:
        means, variances = [], []
        for member in self.members_:
            mean, std = member.predict_dist(X)  # (n, t) each
            means.append(mean)
            variances.append(np.zeros_like(mean) if std is None else np.square(std))
        return self._combine(means, variances)

    def input_featurizers(self) -> list[Any]:
        """The members' featurizers, concatenated in member order; empty when any member
        featurizes for itself (then the ensemble does too)."""
        out: list[Any] = []
        for member in self.members_:
            feats = member.input_featurizers()
            if not feats:
                return []
            out += feats
        return out

    def predict_dist_features(self, F: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(mean, std)`` from the concatenated features of :meth:`input_featurizers`: each
        member gets its own columns, then the members combine as in :meth:`predict_dist`."""
        import scipy.sparse as sp

        F = F.tocsc() if sp.issparse(F) else F
        means, variances, start = [], [], 0
        for member in self.members_:
            width = sum(len(f) for f in member.input_featurizers())
            part = F[:, start : start + width]
            start += width
            if sp.issparse(part):  # trees walk the sparse rows; the others want dense arrays
                part = sp.csr_matrix(part) if member.sparse_features else part.toarray()
            mean, std = member.predict_dist_features(part)
            means.append(mean)
            variances.append(np.zeros_like(mean) if std is None else np.square(std))
        if start != F.shape[1]:
            raise ValueError(f"expected {start} feature columns, got {F.shape[1]}")
        return self._combine(means, variances)

    def _combine(
        self, means: list[np.ndarray], variances: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        stacked = np.stack(means)  # (k, n, t)
        mean = stacked.mean(axis=0)
        between = stacked.var(axis=0)
        within = np.stack(variances).mean(axis=0) if self.task == "regression" else 0.0
        return mean, np.sqrt(between + within)

    # ------------------------------------------------------------------ state
    def get_state(self) -> ModelState:
        from drugforge.core.artifacts import model_state

        arrays: dict[str, np.ndarray] = {}
        metas: list[dict[str, Any]] = []
        for i, member in enumerate(self.members_):
            state = model_state(member)
            arrays.update({f"m{i}/{k}": v for k, v in state.arrays.items()})
            metas.append(state.meta)
        meta = {
            "task": self.task,
            "members": list(self.members),
            "member_params": self.member_params,
            "seed": self.seed,
            "n_tasks": self.n_tasks_,
            "member_meta": metas,
        }
        return ModelState(arrays=arrays, meta=meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        from drugforge.core.artifacts import model_from_state

        meta = state.meta
        ens = cls(
            task=meta["task"],
            members=tuple(meta["members"]),
            member_params=meta.get("member_params"),
            seed=int(meta.get("seed", 0)),
        )
        fitted = []
        for i, member_meta in enumerate(meta["member_meta"]):
            prefix = f"m{i}/"
            arrays = {k[len(prefix):]: v for k, v in state.arrays.items() if k.startswith(prefix)}
            fitted.append(model_from_state(ModelState(arrays=arrays, meta=member_meta)))
        ens._set_members(fitted)
        return ens
