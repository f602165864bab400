"""The molecule models, registered in the core model registry (one line per model family).

Classes are imported lazily (``"module:Class"`` strings) so that ``drugforge predict`` with a
kernel model never pays for importing torch. A new model family is one file plus one line here.
"""

from __future__ import annotations

import inspect
from typing import Any

from drugforge.core.registry import MODELS
from drugforge.molecules.models.base import ModelState, MolecularPredictor, TaskType

_M = "drugforge.molecules.models"
MODELS.register("svm", f"{_M}.svm:TanimotoSVM", "SVR/SVC with a Tanimoto kernel on ECFP")
MODELS.register("gp", f"{_M}.gp:TanimotoGP", "Gaussian process with a Tanimoto kernel")
MODELS.register("gbm", f"{_M}.gbm:GBMModel", "LightGBM gradient-boosted trees on fingerprints")
MODELS.register("mlp", f"{_M}.mlp:FingerprintMLP", "dense network on a 2048-bit fingerprint")
MODELS.register("mpnn", f"{_M}.mpnn:DMPNN", "directed message-passing neural network")
MODELS.register("chem-lm", f"{_M}.chemlm_predictor:ChemLMPredictor",
                "pretrained chemical language model (Transformer on SMILES) with MLP heads")
MODELS.register("ensemble", f"{_M}.ensemble:Ensemble", "average of several models")
#: the names registered above: the core registry also holds other modalities' models (pairs...)
MOLECULE_MODELS = ("svm", "gp", "gbm", "mlp", "mpnn", "chem-lm", "ensemble")


def _is_molecular(name: str) -> bool:
    # a model registered later by a user (a new family, tests' toy models) is molecular unless
    # another modality claims it by its input kind; built-in names skip the import
    return name in MOLECULE_MODELS or getattr(MODELS.get(name), "input_kind", "") == "molecules"


def model_choices() -> tuple[str, ...]:
    """Names accepted by ``--model`` (``auto`` picks among the others by cross-validation)."""
    return ("auto", *(n for n in MODELS.names() if _is_molecular(n)))


def list_models() -> dict[str, str]:
    """Registered model names with a one-line description."""
    return {n: d for n, d in MODELS.describe().items() if _is_molecular(n)}


def get_model_class(name: str) -> type[MolecularPredictor]:
    """Return the class registered under ``name``; unknown names list the choices."""
    cls = MODELS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, MolecularPredictor)):
        raise ValueError(  # noqa: TRY004 - an unknown-name error, as the registry gives
            f"model '{name}' takes {getattr(cls, 'input_kind', 'other')} input, "
            f"not molecules; choose from: {', '.join(model_choices()[1:])}"
        )
    return cls  # type: ignore[no-any-return]


def model_param_names(name: str) -> set[str]:
    """The constructor parameters of the model registered under ``name`` (e.g. to pass ``seed``
    only to models that take one)."""
    return set(inspect.signature(get_model_class(name).__init__).parameters)


def build_model(name: str, task: TaskType, **params: Any) -> MolecularPredictor:
    """Instantiate a registered model for ``task`` with ``params``."""
    cls = get_model_class(name)
    return cls(task=task, **params)


__all__ = [
    "MODELS",
    "ModelState",
    "MolecularPredictor",
    "build_model",
    "get_model_class",
    "list_models",
    "model_choices",
    "model_param_names",
]
