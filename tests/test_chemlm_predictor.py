"""The chem-lm property predictor: overfits, multi-task, frozen vs full, round trips, CLI.

A tiny chem-lm is pretrained here in seconds on real SMILES, so no test depends on runs/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem
from sklearn.base import clone

from cli_helpers import one_line_error, run
from drugforge.core.artifacts import load_model, save_generator, save_model
from drugforge.core.errors import ArtifactError, InvalidSmilesError
from drugforge.core.training.loop import TrainConfig
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models import build_model, chemlm_predictor, get_model_class
from drugforge.molecules.models.chemlm import ChemLM, load_chemlm
from drugforge.molecules.models.chemlm_net import pad_batch
from drugforge.molecules.models.chemlm_predictor import ChemLMPredictor, pool_hidden
from drugforge.molecules.selection import auto

FAST = {"batch_size": 10, "quiet": True}


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.fixture(scope="module")
def esol(moleculenet_dir: Path) -> pd.DataFrame:
    return pd.read_csv(moleculenet_dir / "esol.csv")


@pytest.fixture(scope="module")
def pretrained(esol: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny chem-lm pretrained for 40 steps on 600 canonical ESOL SMILES, saved as a generator."""
    smiles = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in esol["smiles"].iloc[200:800]]
    tokenizer = SmilesTokenizer.build(smiles)
    lm = ChemLM.create(tokenizer, "tiny", max_len=96, seed=0)
    lm.fit([s for s in smiles if not lm.check(s)],
           TrainConfig(max_steps=40, batch_size=32, lr=3e-3, warmup_steps=5, quiet=True))
    return save_generator(tmp_path_factory.mktemp("lm") / "tiny-lm", lm)


@pytest.fixture(scope="module")
def esol20(esol: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    return esol["smiles"].head(20).tolist(), esol["logp"].head(20).to_numpy()


# ------------------------------------------------------------------------------ learning
def test_overfits_20_regression_molecules(
    pretrained: Path, esol20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = esol20
    model = ChemLMPredictor(pretrained=str(pretrained), finetune="full", val_fraction=0.0,
                            max_epochs=80, lr=3e-3, **FAST).fit(smiles, y)  # fmt: skip
    mean, std = model.predict_dist(smiles)
    assert mean.shape == (20, 1) and std is not None and std.shape == (20, 1)
    assert (std > 0).all()  # five heads, five different starting points
    assert rmse(mean[:, 0], y) < 0.15 * y.std()


def test_multitask_classification_with_missing_labels(
    pretrained: Path, moleculenet_dir: Path
) -> None:
    frame = pd.read_csv(moleculenet_dir / "tox21.csv").head(40)
    smiles = frame["smiles"].tolist()
    Y = frame.drop(columns="smiles").to_numpy(dtype=float)
    assert np.isnan(Y).any()
    model = ChemLMPredictor("classification", pretrained=str(pretrained), val_fraction=0.0,
                            max_epochs=120, lr=3e-3, **FAST).fit(smiles, Y)  # fmt: skip
    proba = model.predict(smiles)
    assert proba.shape == (40, 12) and np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    labelled = ~np.isnan(Y)
    assert ((proba[labelled] > 0.5) == (Y[labelled] == 1)).mean() > 0.95
    with pytest.raises(ValueError, match="0/1"):
        ChemLMPredictor("classification", pretrained=str(pretrained)).fit(smiles[:3], [0, 2, 1])


def test_frozen_keeps_the_encoder_bit_identical_full_changes_it(
    pretrained: Path, esol20: tuple[list[str], np.ndarray]
) -> None:
    smiles, y = esol20
    reference = load_chemlm(str(pretrained)).module.state_dict()
    frozen = ChemLMPredictor(pretrained=str(pretrained), max_epochs=5, **FAST).fit(smiles, y)
    full = ChemLMPredictor(pretrained=str(pretrained), finetune="full", max_epochs=5,
                           **FAST).fit(smiles, y)  # fmt: skip
    encoders = {"frozen": frozen.net_.encoder.state_dict(), "full": full.net_.encoder.state_dict()}
    for state in encoders.values():
        assert set(state) == set(reference)  # plain parameters again after fine-tuning
    assert all(torch.equal(encoders["frozen"][k], v) for k, v in reference.items())
    changed = [k for k, v in reference.items() if not torch.equal(encoders["full"][k], v)]
    assert len(changed) > len(reference) // 2
    assert not np.array_equal(frozen.predict(smiles), full.predict(smiles))
    # encoder_lr_ratio: with AdamW a step is ~lr per weight, so 0.1 moves the encoder ~10x less
    same_lr = ChemLMPredictor(pretrained=str(pretrained), finetune="full", max_epochs=5,
                              encoder_lr_ratio=1.0, **FAST).fit(smiles, y)  # fmt: skip

    def moved(model: ChemLMPredictor) -> float:
        state = model.net_.encoder.state_dict()
        return sum(float((state[k] - v).abs().sum()) for k, v in reference.items())

    assert moved(full) < 0.3 * moved(same_lr)


def test_frozen_vectors_are_computed_once_and_match_the_encoder(
    pretrained: Path, esol20: tuple[list[str], np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    smiles, y = esol20
    chemlm_predictor._FEATURE_CACHE.clear()
    model = ChemLMPredictor(pretrained=str(pretrained), max_epochs=3, **FAST).fit(smiles, y)
    cached = model.predict(smiles)  # heads on the memoized vectors
    memo = chemlm_predictor._FEATURE_CACHE[model.feature_key_]
    canon = chemlm_predictor._canonical(smiles)
    with torch.no_grad():
        via_cache = model.net_.heads(torch.from_numpy(np.stack([memo[c] for c in canon])))
        ids = torch.from_numpy(pad_batch([model.tokenizer_.encode(c) for c in canon]))
        direct = model.net_(ids)  # (n, K, T): encoder + heads in one pass
    assert torch.allclose(via_cache, direct, atol=1e-5)
    calls: list[int] = []
    real_run = chemlm_predictor._run

    def counting_run(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(len(args[1]))  # type: ignore[arg-type]
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chemlm_predictor, "_run", counting_run)
    refit = ChemLMPredictor(pretrained=str(pretrained), max_epochs=3, **FAST).fit(smiles, y)
    assert calls == []  # every vector came from the cache
    assert np.array_equal(refit.predict(smiles), cached)
    refit.predict(["CCCCO"])
    assert calls == [1]  # a new molecule is encoded, once


def test_pooling_mean_and_last() -> None:
    h = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)  # (B=2, L=3, C=2)
    ids = torch.tensor([[1, 5, 2], [1, 2, 0]])  # the second row is padded once
    np.testing.assert_allclose(pool_hidden(h, ids, "mean").numpy(), [[2, 3], [7, 8]])
    np.testing.assert_allclose(pool_hidden(h, ids, "mean_last").numpy(),
                               [[2, 3, 4, 5], [7, 8, 8, 9]])  # fmt: skip


# ------------------------------------------------------------------------- state and input
def test_save_load_round_trip_needs_no_pretrained_dir(
    pretrained: Path, esol20: tuple[list[str], np.ndarray], tmp_path: Path
) -> None:
    smiles, y = esol20
    copy = Path(shutil.copytree(pretrained, tmp_path / "lm-copy"))
    Y = np.stack([y, -y], axis=1)
    model = ChemLMPredictor(pretrained=str(copy), finetune="full", max_epochs=3,
                            **FAST).fit(smiles, Y)  # fmt: skip
    out = save_model(tmp_path / "model", model, task="regression", target_names=["a", "b"],
                     standardizer={}, data_hash="0" * 64)  # fmt: skip
    shutil.rmtree(copy)  # a saved model carries its encoder and vocabulary
    loaded = load_model(out).model
    assert isinstance(loaded, ChemLMPredictor) and loaded.n_tasks == 2
    m1, s1 = model.predict_dist(smiles)
    m2, s2 = loaded.predict_dist(smiles)
    np.testing.assert_array_equal(m2, m1)
    assert s1 is not None and s2 is not None
    np.testing.assert_array_equal(s2, s1)
    assert loaded.get_params() == model.get_params()
    meta = json.loads((out / "model.json").read_text())
    assert meta["fit_info"]["pretrained"] == str(copy) and meta["encoder"]["d_model"] == 64


def test_contract_and_bad_input(pretrained: Path, esol20: tuple[list[str], np.ndarray]) -> None:
    smiles, y = esol20
    model = build_model("chem-lm", "regression", pretrained=str(pretrained), max_epochs=2, **FAST)
    assert get_model_class("chem-lm") is ChemLMPredictor
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "net_")  # __init__ only stores parameters
    with pytest.raises(InvalidSmilesError, match="position 2"):
        model.fit(["CCO", "not a smiles", "CCC"], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="choose from: frozen, full"):
        ChemLMPredictor(pretrained=str(pretrained), finetune="partial").fit(smiles, y)  # type: ignore[arg-type]
    model.fit(smiles, y)
    # a molecule the vocabulary lacks a token for is read with <unk>; an overlong one is cut
    long_chain = "C" * 150
    pred = model.predict([Chem.MolToSmiles(Chem.MolFromSmiles("[Se]1C=CC=C1")), long_chain])
    assert np.isfinite(pred).all()
    with pytest.raises(InvalidSmilesError, match="position 1"):
        model.predict(["C1CC"])
    assert model.predict([]).shape == (0, 1)


def test_from_scratch_builds_its_own_vocabulary(esol20: tuple[list[str], np.ndarray]) -> None:
    smiles, y = esol20
    model = ChemLMPredictor(pretrained=None, finetune="full", size="tiny", max_epochs=3,
                            n_heads=1, **FAST).fit(smiles, y)  # fmt: skip
    mean, std = model.predict_dist(smiles)
    assert mean.shape == (20, 1) and np.isfinite(mean).all() and std is None
    assert model.fit_info_["pretrained"] is None
    assert set(model.tokenizer_.tokens) >= {"c", "O", "Cl"}
    assert model.net_.encoder.config.n_layer == 2  # the 'tiny' preset


def test_load_chemlm_errors(pretrained: Path, tmp_path: Path) -> None:
    if "chem-lm" not in auto.shipped_generators():
        with pytest.raises(ArtifactError, match="no trained 'chem-lm' generator is shipped.*"
                                                "--pretrained DIR"):
            load_chemlm("chem-lm", option="--pretrained")
    with pytest.raises(ArtifactError, match="unknown generator"):
        load_chemlm(str(tmp_path / "missing"))
    tampered = Path(shutil.copytree(pretrained, tmp_path / "tampered"))
    (tampered / "model.json").write_text((tampered / "model.json").read_text() + " ")
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load_chemlm(str(tampered))


# ---------------------------------------------------------------------------- auto and CLI
def test_auto_pool_gains_chem_lm_only_when_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "shipped_generators", list)
    assert auto.default_pool("regression", 1000) == ("svm", "gp", "gbm")
    assert auto.default_pool("classification", 1000) == ("svm", "gbm", "mlp", "mpnn")
    monkeypatch.setattr(auto, "shipped_generators", lambda: ["chem-lm"])
    assert auto.default_pool("regression", 1000) == ("svm", "gp", "gbm", "chem-lm")
    assert auto.default_pool("regression", 1001) == ("svm", "gp", "gbm")  # small data only
    assert ChemLMPredictor().get_params()["finetune"] == "frozen"  # the cheap variant joins


def test_cli_train_and_predict(pretrained: Path, esol_csv: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "model"
    code, stdout, err = run(
        ["train", str(esol_csv), "--target", "logp", "--model", "chem-lm", "--pretrained",
         str(pretrained), "--finetune", "full", "--model-param", "chem-lm.max_epochs=3",
         "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["test"]["rmse"] > 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_params"]["chem-lm"] == {"pretrained": str(pretrained),
                                                 "finetune": "full", "max_epochs": 3}
    queries = tmp_path / "q.csv"
    queries.write_text("smiles\nCCO\nnot-a-smiles\nc1ccccc1O\n")
    code, _, err = run(["predict", str(out), str(queries), "--out", str(tmp_path / "p.csv"),
                        "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "p.csv")
    assert len(pred) == 3 and pred["logp"].isna().tolist() == [False, True, False]


def test_cli_errors_are_one_line(esol_csv: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    base = ["train", str(esol_csv), "--target", "logp", "--out", str(tmp_path / "m"), "--quiet"]
    if "chem-lm" not in auto.shipped_generators():
        code, _, err = run([*base, "--model", "chem-lm"], capsys)
        one_line_error(code, err, "no trained 'chem-lm' generator is shipped")
        assert "--pretrained DIR" in err
    code, _, err = run([*base, "--model", "chem-lm", "--pretrained", str(tmp_path / "nope")],
                       capsys)  # fmt: skip
    one_line_error(code, err, "unknown generator")
    code, _, err = run([*base, "--model", "svm", "--finetune", "full"], capsys)
    one_line_error(code, err, "--finetune applies to --model chem-lm")
