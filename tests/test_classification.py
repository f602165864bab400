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


# ------------------------------------------------------------------ auto: variants and pool
def _balanced_cyp(admet_dir: Path, n_per_class: int = 90) -> MoleculeDataset:
    frame = pd.read_csv(admet_dir / "CYP2C9_Substrate_CarbonMangels.csv")
    pos = frame[frame["y"] == 1].head(n_per_class)
    neg = frame[frame["y"] == 0].head(n_per_class)
    both = pd.concat([pos, neg]).sort_index()
    return _dataset(list(both["smiles"]), both["y"].to_numpy(float))


def test_auto_tries_class_weights_on_imbalanced_data_only(admet_dir: Path) -> None:
    from drugforge.molecules.selection.auto import imbalanced, select_model

    params = {"gbm": FAST["gbm"]}
    skewed = _dataset(*_cyp(admet_dir, 180))
    assert imbalanced(skewed.y)  # 23 % positive
    result = select_model(skewed, pool=("svm", "gbm"), k=3, seed=0, model_params=params)
    names = [row.spec.describe() for row in result.rows]
    assert names[:4] == ["svm", "svm[balanced]", "gbm", "gbm[balanced]"]
    assert [r.spec.params.get("class_weight") for r in result.rows[:4]] == [
        None, "balanced", None, "balanced"]
    # the average of the best two is keyed by model name, with each one's better variant
    ens = next(r for r in result.rows if r.spec.describe() == "ensemble(svm+gbm)"
               or r.spec.describe() == "ensemble(gbm+svm)")
    for member, member_params in ens.spec.params["member_params"].items():
        variants = [r for r in result.rows[:4] if r.spec.name == member]
        better = max(variants, key=lambda r: r.score)
        assert member_params == better.spec.params
    assert result.best_oof is not None and result.best_oof.shape == skewed.y.shape

    even = _balanced_cyp(admet_dir)
    assert not imbalanced(even.y)
    names = [r.spec.describe() for r in
             select_model(even, pool=("svm", "gbm"), k=3, seed=0, model_params=params).rows]
    assert not any("balanced" in name for name in names)
    assert names[:2] == ["svm", "gbm"]


def test_user_class_weight_is_not_second_guessed(admet_dir: Path) -> None:
    from drugforge.molecules.selection.auto import class_weight_variants

    skewed = _dataset(*_cyp(admet_dir, 100))
    variants = class_weight_variants(skewed, ("svm", "gbm", "gp"),
                                     {"svm": {"class_weight": None}})  # fmt: skip
    assert dict(variants) == {"gbm": [{}, {"class_weight": "balanced"}]}  # gp takes none


def test_mpnn_joins_the_classification_pool_below_its_cap() -> None:
    from drugforge.molecules.selection.auto import MPNN_MAX_TRAIN, default_pool

    assert "mpnn" in default_pool("classification", MPNN_MAX_TRAIN)
    assert "mpnn" not in default_pool("classification", MPNN_MAX_TRAIN + 1)
    assert "mpnn" not in default_pool("regression", 100)
