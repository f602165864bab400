"""Predicting molecules with a saved model: raw SMILES, or Mols a library screen parsed already.

Both go through the loaded model's one predict path
(:meth:`drugforge.core.artifacts.LoadedModel.predict` / ``predict_prepared``): standardized with
the model's settings, calibrated std, an error text per row, every row kept in its place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem

from drugforge.core.artifacts import LoadedModel, Prediction
from drugforge.core.errors import ArtifactError
from drugforge.molecules.chem import StandardizerConfig
from drugforge.molecules.chem.mol import changed_by_standardizer, standardize_smiles
from drugforge.molecules.featurize.batch import feature_cache_disabled

__all__ = ["check_molecule_model", "predict_mols", "predict_smiles", "prediction_columns"]

#: the command that predicts a model of another input kind
_OTHER_KINDS = {"images": "drugforge image predict", "pairs": "drugforge dti predict"}


def check_molecule_model(loaded: LoadedModel) -> LoadedModel:
    """``loaded`` when it takes molecules; a model of other inputs is a one-line error (an image
    model would take each SMILES text for the path of an image file to open)."""
    kind = str(getattr(loaded.model, "input_kind", "any"))
    if kind not in ("molecules", "any"):
        use = f"; use '{_OTHER_KINDS[kind]}'" if kind in _OTHER_KINDS else ""
        raise ArtifactError(f"this model takes {kind}, not molecules{use}", path=loaded.path)
    return loaded


def prediction_columns(loaded: LoadedModel, existing: set[str]) -> dict[str, tuple[str, str]]:
    """Output column names per target; a clash with an input column gets a ``_pred`` suffix."""
    names = {}
    for target in loaded.target_names:
        col = target if target not in existing else f"{target}_pred"
        names[target] = (col, f"{col}_std")
    return names


def predict_smiles(
    loaded: LoadedModel, smiles: list[str], *, batch_size: int = 2048, quiet: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predict for raw SMILES; returns (mean (n,t), std (n,t), error text per row)."""
    check_molecule_model(loaded)
    result = loaded.predict(smiles, batch_size=batch_size, quiet=quiet)
    return result.mean, result.std, result.errors


def predict_mols(
    loaded: LoadedModel, mols: Sequence[Chem.Mol], texts: Sequence[str], *,
    batch_size: int = 2048,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`predict_smiles` for molecules already parsed from ``texts`` (a library screen).

    A molecule the standardizer leaves as it is (one fragment, and no charge the ``Uncharger``
    would change: most charged library molecules are nitro groups or quaternary nitrogens) goes
    to the model as the parsed Mol, with no second parse or canonical SMILES. The others take the
    SMILES path (:func:`standardize_smiles`), exactly as ``drugforge predict`` does. Features equal
    those of the SMILES path up to the order of floating-point sums.
    """
    check_molecule_model(loaded)
    config = StandardizerConfig.from_dict(loaded.standardizer)
    result = Prediction.empty(len(mols), len(loaded.target_names))
    ready: list[Chem.Mol | str] = []
    ok: list[int] = []
    for i, (mol, text) in enumerate(zip(mols, texts, strict=True)):
        if not config.canonical or changed_by_standardizer(mol, config):
            clean, error = standardize_smiles(text, config)
            if clean is None:
                result.errors[i] = error
                continue
            ready.append(clean)
        else:
            heavy = mol.GetNumHeavyAtoms()
            if config.max_heavy_atoms is not None and heavy > config.max_heavy_atoms:
                result.errors[i] = f"molecule has {heavy} heavy atoms (limit {config.max_heavy_atoms})"
                continue
            ready.append(mol)
        ok.append(i)
    with feature_cache_disabled():
        for start in range(0, len(ok), batch_size):
            loaded.predict_prepared(ready[start : start + batch_size],
                                    ok[start : start + batch_size], result)  # fmt: skip
    return result.mean, result.std, result.errors
