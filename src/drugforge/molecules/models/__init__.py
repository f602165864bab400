"""Model registry: the one place where model names (CLI flags, config files) become classes.

Classes are imported lazily so that ``drugforge predict`` with a kernel model never pays for
importing torch.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from drugforge.molecules.models.base import ModelState, MolecularPredictor, TaskType

# name -> (module, class name, one-line description)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "svm": ("drugforge.molecules.models.svm", "TanimotoSVM", "SVR/SVC with a Tanimoto kernel on ECFP"),
    "gp": ("drugforge.molecules.models.gp", "TanimotoGP", "Gaussian process with a Tanimoto kernel"),
    "gbm": ("drugforge.molecules.models.gbm", "GBMModel", "LightGBM gradient-boosted trees on fingerprints"),
    "mlp": ("drugforge.molecules.models.mlp", "FingerprintMLP", "dense network on a 2048-bit fingerprint"),
    "mpnn": ("drugforge.molecules.models.mpnn", "DMPNN", "directed message-passing neural network"),
    "chem-lm": (
        "drugforge.molecules.models.chemlm_predictor",
        "ChemLMPredictor",
        "pretrained chemical language model (Transformer on SMILES) with MLP heads",
    ),
    "ensemble": ("drugforge.molecules.models.ensemble", "Ensemble", "average of several models"),
}

#: names accepted by ``--model`` (``auto`` picks among the others by cross-validation)
MODEL_CHOICES: tuple[str, ...] = ("auto", *_REGISTRY)


def list_models() -> dict[str, str]:
    """Registered model names with a one-line description."""
    return {name: desc for name, (_, _, desc) in _REGISTRY.items()}


def get_model_class(name: str) -> type[MolecularPredictor]:
    """Return the class registered under ``name``; unknown names list the choices."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(
            f"unknown model '{name}'{hint}; choose from: {', '.join(sorted(_REGISTRY))}"
        )
    module, cls_name, _ = _REGISTRY[name]
    cls = getattr(importlib.import_module(module), cls_name)
    assert issubclass(cls, MolecularPredictor)
    return cls  # type: ignore[no-any-return]


def model_param_names(name: str) -> set[str]:
    """The constructor parameters of the model registered under ``name`` (e.g. to pass ``seed``
    only to models that take one)."""
    return set(inspect.signature(get_model_class(name).__init__).parameters)


def build_model(name: str, task: TaskType, **params: Any) -> MolecularPredictor:
    """Instantiate a registered model for ``task`` with ``params``."""
    cls = get_model_class(name)
    return cls(task=task, **params)


def model_from_state(state: ModelState) -> MolecularPredictor:
    """Rebuild a fitted model from its saved state (``meta['model']`` names the class)."""
    name = state.meta.get("model")
    if not isinstance(name, str):
        # a malformed file is a value problem for the caller, hence not TypeError
        raise ValueError("saved model state does not name its model class")  # noqa: TRY004
    return get_model_class(name).from_state(state)


def model_state(model: MolecularPredictor) -> ModelState:
    """The model's state with its registry name recorded, ready for saving."""
    state = model.get_state()
    state.meta["model"] = model.name
    return state


__all__ = [
    "MODEL_CHOICES",
    "ModelState",
    "MolecularPredictor",
    "build_model",
    "get_model_class",
    "list_models",
    "model_from_state",
    "model_param_names",
    "model_state",
]
