"""FingerprintMLP and DMPNN: can they overfit, are they deterministic, do they save and load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem
from sklearn.base import clone

from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.featurize.graph import batch_graphs, mols_to_graphs
from drugforge.molecules.models.base import ModelState, MolecularPredictor
from drugforge.molecules.models.mlp import FingerprintMLP
from drugforge.molecules.models.mpnn import DMPNN, MPNN, MPNNConfig, build_mpnn

MOLECULENET = Path(__file__).resolve().parents[2] / "shared" / "data" / "moleculenet"
needs_data = pytest.mark.skipif(
    not MOLECULENET.is_dir(), reason=f"MoleculeNet CSVs not found at {MOLECULENET}"
)

# Small, fast settings; everything else is the model's default.
FAST: dict[str, dict[str, Any]] = {
    "mlp": {"hidden_sizes": (256,), "batch_size": 10, "max_epochs": 60, "quiet": True},
    "mpnn": {
        "hidden": 64,
        "ffn_hidden": 64,
        "lr": 3e-3,
        "batch_size": 10,
        "max_epochs": 100,
        "quiet": True,
    },
}
MODELS: dict[str, type[MolecularPredictor]] = {"mlp": FingerprintMLP, "mpnn": DMPNN}


def make(name: str, **params: Any) -> MolecularPredictor:
    return MODELS[name](**{**FAST[name], **params})


@pytest.fixture(scope="module")
def esol20() -> tuple[list[str], np.ndarray]:
    if not MOLECULENET.is_dir():
        pytest.skip(f"MoleculeNet CSVs not found at {MOLECULENET}")
    df = pd.read_csv(MOLECULENET / "esol.csv").head(20)
    return df["smiles"].tolist(), df["logp"].to_numpy()


@pytest.fixture(scope="module")
def bbbp20() -> tuple[list[str], np.ndarray]:
    """10 permeable and 10 non-permeable molecules that RDKit parses."""
    if not MOLECULENET.is_dir():
        pytest.skip(f"MoleculeNet CSVs not found at {MOLECULENET}")
    df = pd.read_csv(MOLECULENET / "bbbp.csv")
    df = df[[Chem.MolFromSmiles(s) is not None for s in df["smiles"]]]
    df = pd.concat([df[df.p_np == 1].head(10), df[df.p_np == 0].head(10)])
    return df["smiles"].tolist(), df["p_np"].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def tox21_40() -> tuple[list[str], np.ndarray]:
    if not MOLECULENET.is_dir():
        pytest.skip(f"MoleculeNet CSVs not found at {MOLECULENET}")
    df = pd.read_csv(MOLECULENET / "tox21.csv").head(40)
    tasks = [c for c in df.columns if c != "smiles"]
    return df["smiles"].tolist(), df[tasks].to_numpy(dtype=float)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


# ----------------------------------------------------------------------------- overfitting
@needs_data
@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_overfits_20_regression_molecules(name: str, esol20: tuple[list[str], np.ndarray]) -> None:
    smiles, y = esol20
    model = make(name, val_fraction=0.0).fit(smiles, y)
    pred = model.predict(smiles)
    assert pred.shape == (20, 1)
    assert rmse(pred[:, 0], y) < 0.15 * y.std()


@needs_data
@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_overfits_20_classification_molecules(
    name: str, bbbp20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = bbbp20
    model = make(name, task="classification", val_fraction=0.0).fit(smiles, y)
    proba = model.predict(smiles)[:, 0]
    assert ((proba >= 0) & (proba <= 1)).all()
    assert ((proba > 0.5) == (y == 1)).mean() == 1.0
    assert model.predict_proba(smiles).shape == (20, 2)


# ------------------------------------------------------------------------------- multi-task
@needs_data
@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_multitask_classification_with_missing_labels(
    name: str, tox21_40: tuple[list[str], np.ndarray]
) -> None:
    smiles, Y = tox21_40
    assert np.isnan(Y).any()
    model = make(name, task="classification", val_fraction=0.0).fit(smiles, Y)
    proba = model.predict(smiles)
    assert proba.shape == (40, 12) and np.isfinite(proba).all()  # every entry predicted
    labelled = ~np.isnan(Y)
    assert ((proba[labelled] > 0.5) == (Y[labelled] == 1)).mean() > 0.95
    history = model.train_result_.history  # type: ignore[attr-defined]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]


@needs_data
@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_multitask_regression_with_missing_labels_and_scales(
    name: str, esol20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = esol20
    # second task on a 100x larger scale with every other label missing
    Y = np.stack([y, 100.0 * y + 50.0], axis=1)
    Y[::2, 1] = np.nan
    model = make(name, val_fraction=0.0).fit(smiles, Y)
    pred = model.predict(smiles)
    assert pred.shape == (20, 2) and np.isfinite(pred).all()
    assert rmse(pred[:, 0], y) < 0.15 * y.std()
    odd = slice(1, None, 2)
    assert rmse(pred[odd, 1], Y[odd, 1]) < 0.15 * Y[odd, 1].std()


# ------------------------------------------------------------------- early stopping and val
@needs_data
@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_validation_data_drives_early_stopping(
    name: str, esol20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = esol20
    model = make(name, patience=3, max_epochs=40).fit(smiles[:15], y[:15], smiles[15:], y[15:])
    result = model.train_result_  # type: ignore[attr-defined]
    val_losses = [h["val_loss"] for h in result.history]
    assert np.isfinite(val_losses).all()
    assert result.best_epoch == int(np.argmin(val_losses)) + 1
    # internal hold-out: 10 % of 20 molecules = 2 validation molecules
    held = make(name, max_epochs=2).fit(smiles, y)
    assert np.isfinite(held.train_result_.history[0]["val_loss"])  # type: ignore[attr-defined]


# --------------------------------------------------------------------- determinism & state
@needs_data
@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_retraining_with_the_same_seed_is_identical(
    name: str, esol20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = esol20
    params = {"max_epochs": 8, "dropout": 0.2}
    a = make(name, seed=7, **params).fit(smiles, y).predict(smiles)
    b = make(name, seed=7, **params).fit(smiles, y).predict(smiles)
    c = make(name, seed=8, **params).fit(smiles, y).predict(smiles)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@needs_data
@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("mlp", {}),
        ("mpnn", {}),
        ("mpnn", {"extra_features": "rdkit2d"}),
        ("mlp", {"featurizer": "maccs"}),
    ],
)
def test_state_round_trip_gives_identical_predictions(
    name: str, extra: dict[str, Any], esol20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = esol20
    Y = np.stack([y, -y], axis=1)
    model = make(name, max_epochs=3, **extra).fit(smiles, Y)
    state = model.get_state()
    assert all(isinstance(v, np.ndarray) for v in state.arrays.values())
    meta = json.loads(json.dumps(state.meta))  # what an artifact stores: JSON, no pickle
    loaded = type(model).from_state(ModelState(arrays=dict(state.arrays), meta=meta))
    np.testing.assert_array_equal(loaded.predict(smiles), model.predict(smiles))
    assert loaded.get_params() == model.get_params()
    assert loaded.n_tasks == 2


@pytest.mark.parametrize("name", ["mlp", "mpnn"])
def test_sklearn_contract_and_bad_input(name: str) -> None:
    model = make(name)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "module_")  # __init__ only stores parameters
    with pytest.raises(InvalidSmilesError, match="position 2"):
        model.fit(["CCO", "not a smiles", "CCC"], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="0/1"):
        make(name, task="classification").fit(["CCO", "CCC"], [0.0, 2.0])
    with pytest.raises(ValueError, match="rows"):
        model.fit(["CCO", "CCC"], [1.0, 2.0, 3.0])


# ------------------------------------------------------------------- D-MPNN building blocks
def _naive_dmpnn(module: MPNN, smiles: str) -> torch.Tensor:
    """The D-MPNN recurrence with explicit loops over bonds (reference for the vectorized one)."""
    g = mols_to_graphs([smiles])[0]
    mp = module.message_passing
    V, E = torch.from_numpy(g.V), torch.from_numpy(g.E)
    src, dst = g.edge_index
    H0 = mp.W_i(torch.cat([V[src], E], dim=1))
    H = torch.relu(H0)
    for _ in range(mp.depth - 1):
        M = torch.zeros_like(H)
        for e in range(g.n_edges):  # bond v -> w collects bonds k -> v, except w -> v
            for k in range(g.n_edges):
                if dst[k] == src[e] and src[k] != dst[e]:
                    M[e] += H[k]
        H = torch.relu(H0 + mp.W_h(M))
    M_atom = torch.zeros(g.n_atoms, H.shape[1])
    for k in range(g.n_edges):
        M_atom[dst[k]] += H[k]
    H_v = torch.relu(mp.W_o(torch.cat([V, M_atom], dim=1)))
    return module.predictor(H_v.mean(0, keepdim=True))


def test_vectorized_message_passing_matches_naive_loops() -> None:
    torch.manual_seed(0)
    module = build_mpnn(MPNNConfig(out_dim=2, hidden=16, ffn_hidden=8, depth=3)).eval()
    for smiles in ["CC(=O)Oc1ccccc1C(=O)O", "OC1CCC(CC1)N(C)C#N", "C"]:
        fast = module(batch_graphs(mols_to_graphs([smiles])))
        torch.testing.assert_close(fast, _naive_dmpnn(module, smiles), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("aggregation", ["mean", "sum", "norm"])
def test_batched_prediction_equals_one_by_one(aggregation: str) -> None:
    torch.manual_seed(0)
    config = MPNNConfig(out_dim=1, hidden=16, ffn_hidden=8, aggregation=aggregation)  # type: ignore[arg-type]
    module = build_mpnn(config).eval()
    smiles = ["CCO", "C", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O"]
    graphs = mols_to_graphs(smiles)
    together = module(batch_graphs(graphs))
    alone = torch.cat([module(batch_graphs([g])) for g in graphs])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
