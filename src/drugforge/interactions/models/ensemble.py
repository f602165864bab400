"""The average of several pair models (``name='pair-ensemble'``): ``--model auto``'s best-two."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

from drugforge.interactions.models.base import PairPredictor
from drugforge.molecules.models.ensemble import Ensemble

__all__ = ["PairEnsemble"]


class PairEnsemble(Ensemble):
    """:class:`~drugforge.molecules.models.ensemble.Ensemble` over pair models: the same mean and
    law-of-total-variance spread, members built from the pair-model registry."""

    name: ClassVar[str] = "pair-ensemble"
    input_kind: ClassVar[str] = "pairs"
    prepare_inputs = PairPredictor.__dict__["prepare_inputs"]

    def __init__(
        self,
        task: Any = "regression",
        members: Sequence[str] = ("pair-nn", "pair-gbm"),
        member_params: dict[str, dict[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(task=task, members=members, member_params=member_params, seed=seed)

    def fit(self, X: Sequence[Any], y: Any, X_val: Sequence[Any] | None = None,
            y_val: Any = None) -> Self:  # fmt: skip
        from drugforge.interactions.models import build_pair_model

        if len(self.members) == 0:
            raise ValueError("an ensemble needs at least one member")
        fitted = []
        for i, member in enumerate(self.members):
            params = dict((self.member_params or {}).get(member, {}))
            params.setdefault("seed", self.seed + i)
            fitted.append(build_pair_model(member, **params).fit(X, y, X_val, y_val))
        self._set_members(fitted)
        return self
