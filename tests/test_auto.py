"""``--model auto``: cross-validated choice on the training data only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.selection.auto import default_pool, select_model


def _dataset(moleculenet_dir: Path, n: int = 120) -> MoleculeDataset:
    frame = pd.read_csv(moleculenet_dir / "esol.csv").head(n)
    return MoleculeDataset(smiles=list(frame["smiles"]), y=frame[["logp"]].to_numpy(float),
                           target_names=["logp"], task="regression",
                           source_rows=np.arange(n))


def test_auto_scores_every_candidate_and_their_averages(moleculenet_dir: Path) -> None:
    data = _dataset(moleculenet_dir)
    result = select_model(data, pool=("svm", "gbm"), k=3, seed=0,
                          model_params={"gbm": {"n_estimators": 100}})
    names = [row.spec.describe() for row in result.rows]
    assert names[:2] == ["svm", "gbm"] and "ensemble(" in names[2]
    assert result.metric == "rmse"
    finite = [row.score for row in result.rows]
    assert all(np.isfinite(finite))
    assert result.best.describe() == min(result.rows, key=lambda r: r.score).spec.describe()
    assert len(result.rows[0].fold_scores) == 3


def test_auto_is_deterministic(moleculenet_dir: Path) -> None:
    data = _dataset(moleculenet_dir, 60)
    a = select_model(data, pool=("svm", "gp"), k=3, seed=1)
    b = select_model(data, pool=("svm", "gp"), k=3, seed=1)
    assert [r.score for r in a.rows] == [r.score for r in b.rows]


def test_default_pool_drops_exact_gp_on_large_data() -> None:
    assert "gp" in default_pool("regression", 1000)
    assert "gp" not in default_pool("regression", 100_000)
    assert "gp" not in default_pool("classification", 1000)


def test_search_tries_defaults_and_keeps_the_best(moleculenet_dir: Path) -> None:
    from drugforge.molecules.selection.search import search_hyperparameters

    data = _dataset(moleculenet_dir, 80)
    result = search_hyperparameters(data, "svm", n_trials=4, k=3, seed=0)
    assert len(result.trials) == 4
    assert "C" not in result.trials[0]["params"]  # the model's own defaults come first
    scores = [t["score"] for t in result.trials]
    best = result.trials[int(np.argmin(scores))]["params"]
    assert result.best.params == best


def test_cli_search_records_the_choice(tmp_path: Path, esol_csv: Path) -> None:
    import json

    from drugforge.cli import main

    out = tmp_path / "m"
    code = main(["train", str(esol_csv), "--target", "logp", "--model", "svm", "--search", "3",
                 "--cv-folds", "3", "--out", str(out), "--quiet"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["search"] == 3 and config["resolved_model"]["name"] == "svm"
