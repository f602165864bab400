"""The molecule predictor: the core :class:`~drugforge.core.predictor.Predictor` for molecules.

``X`` is a sequence of SMILES strings (already standardized by the data layer) or RDKit ``Mol``
objects. Raw user SMILES are standardized with the model's saved standardizer settings before
prediction (:meth:`MolecularPredictor.prepare_inputs`); one that does not parse keeps its row
with ``None`` and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rdkit import Chem

from drugforge.core.predictor import (
    ModelState,
    Predictor,
    TaskType,
    as_2d_targets,
    check_state_format,
)

__all__ = [
    "ModelState",
    "MolLike",
    "MolecularPredictor",
    "TaskType",
    "as_2d_targets",
    "as_smiles",
    "check_state_format",
]

MolLike = str | Chem.Mol


def as_smiles(X: Sequence[MolLike]) -> list[str]:
    """Accept SMILES or Mols; return SMILES (Mols are written canonical)."""
    out: list[str] = []
    for x in X:
        if isinstance(x, Chem.Mol):
            out.append(Chem.MolToSmiles(x))
        else:
            out.append(str(x))
    return out


class MolecularPredictor(Predictor):
    """Base class of the molecule models: ``X`` holds SMILES or Mols."""

    input_kind: ClassVar[str] = "molecules"
    #: True when :meth:`predict_dist_features` is faster on a SciPy sparse matrix (trees)
    sparse_features: ClassVar[bool] = False

    def input_featurizers(self) -> list[Any]:
        """The featurizers whose concatenated output :meth:`predict_dist_features` takes.

        Empty (the default) for a model that featurizes for itself. A caller predicting several
        models on the same molecules (the profile panel) computes each distinct featurizer once.
        """
        return []

    @classmethod
    def prepare_inputs(
        cls, raw: Sequence[Any], settings: Mapping[str, Any]
    ) -> tuple[list[Any], list[str]]:
        """Standardize raw SMILES with the saved standardizer settings (invalid -> None, why)."""
        from drugforge.molecules.chem import StandardizerConfig, standardize_many

        clean, errors = standardize_many(raw, StandardizerConfig.from_dict(dict(settings)))
        return list(clean), list(errors)
