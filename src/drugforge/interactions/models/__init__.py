"""The drug-target pair models, registered in the core model registry (one line per family)."""

from __future__ import annotations

from typing import Any

from drugforge.core.registry import MODELS
from drugforge.interactions.models.base import PairPredictor

_M = "drugforge.interactions.models"
MODELS.register("pair-nn", f"{_M}.pairnet:PairNet",
                "two-tower network on molecule and sequence features, deep ensemble")
MODELS.register("pair-gbm", f"{_M}.pairgbm:PairGBM",
                "LightGBM on concatenated molecule and sequence features, bagged")
MODELS.register("pair-ensemble", f"{_M}.ensemble:PairEnsemble",
                "average of several pair models (auto's best two or three)")
#: the pair models, in the order ``dti train --model`` lists them (``auto`` chooses among them)
PAIR_MODELS = ("pair-nn", "pair-gbm")


def pair_model_choices() -> tuple[str, ...]:
    return ("auto", *PAIR_MODELS)


def build_pair_model(name: str, **params: Any) -> PairPredictor:
    """A registered pair model with ``params``; an unknown name lists the choices."""
    if name not in (*PAIR_MODELS, "pair-ensemble"):
        raise ValueError(f"unknown pair model '{name}'; choose from: {', '.join(PAIR_MODELS)}")
    cls = MODELS.get(name)
    model: PairPredictor = cls(**params)
    return model


__all__ = ["PAIR_MODELS", "PairPredictor", "build_pair_model", "pair_model_choices"]
