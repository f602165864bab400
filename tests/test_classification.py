"""Classification that holds up: class weights, their choice by cross-validation, the D-MPNN in
auto's pool, calibrated probabilities and scaffold folds inside auto.

Real data: CYP2C9 substrates (Carbon-Mangels, TDC; 23 % positive) and BBBP (76 % positive).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from drugforge.core.artifacts import load_model, save_model
from drugforge.core.predictor import ModelState, balanced_pos_weight, balanced_sample_weight
from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.models import build_model, get_model_class

#: small, fast settings of each model that takes class_weight
FAST: dict[str, dict[str, Any]] = {
    "gbm": {"n_estimators": 60},
    "mlp": {"hidden_sizes": (64,), "max_epochs": 15, "patience": 5},
    "mpnn": {"hidden": 32, "ffn_hidden": 32, "max_epochs": 15, "patience": 15, "lr": 3e-3},
}


def _cyp(admet_dir: Path, n: int = 240) -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(admet_dir / "CYP2C9_Substrate_CarbonMangels.csv").head(n)
    return list(frame["smiles"]), frame["y"].to_numpy(float)


def _dataset(smiles: list[str], y: np.ndarray, name: str = "y") -> MoleculeDataset:
    return MoleculeDataset(smiles=smiles, y=y.reshape(len(smiles), -1), target_names=[name],
                           task="classification", source_rows=np.arange(len(smiles)))


def test_balanced_weights_exact() -> None:
    Y = np.array([[1, 0], [0, 0], [0, np.nan], [0, 1], [np.nan, 1]], dtype=float)
    # task 0: 1 positive, 3 negatives; task 1: 2 positives, 2 negatives (NaN rows not counted)
    assert balanced_pos_weight(Y).tolist() == [3.0, 1.0]
    assert balanced_pos_weight(np.array([[0.0], [0.0]])).tolist() == [1.0]  # no positive
    w = balanced_sample_weight(np.array([1.0, 0.0, 0.0, 0.0]))
    assert w.tolist() == [2.0, 4 / 6, 4 / 6, 4 / 6] and w.sum() == pytest.approx(4.0)
    # validation rows get the training labels' weights
    assert balanced_sample_weight(np.array([1.0, 0.0]), np.array([1.0, 0, 0, 0])).tolist() == [
        2.0, 4 / 6]


@pytest.mark.parametrize("name", sorted(FAST))
def test_class_weight_shifts_probabilities_and_loads_back(
    name: str, admet_dir: Path, tmp_path: Path
) -> None:
    smiles, y = _cyp(admet_dir, 200)
    plain = build_model(name, "classification", **FAST[name]).fit(smiles, y)
    balanced = build_model(name, "classification", class_weight="balanced", **FAST[name])
    balanced.fit(smiles, y)
    p_plain, p_bal = plain.predict(smiles)[:, 0], balanced.predict(smiles)[:, 0]
    # 23 % positives: weighing them up moves the probabilities up on average
    assert p_bal.mean() > p_plain.mean() + 0.05
    out = save_model(tmp_path / name, balanced, task="classification", target_names=["y"],
                     standardizer={}, data_hash="x")  # fmt: skip
    loaded = load_model(out)
    assert loaded.model.get_params()["class_weight"] == "balanced"
    np.testing.assert_array_equal(loaded.model.predict(smiles), balanced.predict(smiles))


@pytest.mark.parametrize("name", sorted(FAST))
def test_state_saved_before_class_weight_loads_unweighted(name: str, admet_dir: Path) -> None:
    smiles, y = _cyp(admet_dir, 60)
    model = build_model(name, "classification", **FAST[name]).fit(smiles, y)
    state = model.get_state()
    state.meta["params"].pop("class_weight")  # what an earlier release wrote
    state.meta["model"] = name
    old = get_model_class(name).from_state(ModelState(state.arrays, state.meta))
    assert old.get_params()["class_weight"] is None
    np.testing.assert_array_equal(old.predict(smiles[:10]), model.predict(smiles[:10]))


def test_multitask_weights_keep_missing_labels_masked(admet_dir: Path) -> None:
    smiles, y = _cyp(admet_dir, 120)
    Y = np.stack([y, 1.0 - y], axis=1)
    Y[::3, 1] = np.nan  # task 1 misses a third of its labels
    model = build_model("mlp", "classification", class_weight="balanced", **FAST["mlp"])
    p = model.fit(smiles, Y).predict(smiles)
    assert p.shape == (120, 2) and np.isfinite(p).all()
    with pytest.raises(ValueError, match="class_weight"):
        build_model("gbm", "classification", class_weight="heavy").fit(smiles, y)
