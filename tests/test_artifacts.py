"""Saved models: safe loading, integrity checks, and artifacts from older versions keep working."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from drugforge.core.artifacts import FORMAT_VERSION, load_model, save_model
from drugforge.core.errors import ArtifactError
from drugforge.molecules.chem import StandardizerConfig
from drugforge.molecules.models.ensemble import Ensemble

FIXTURES = Path(__file__).parent / "fixtures"
SMILES = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1O", "CC(=O)O", "CCN", "CCCN", "CCOC",
          "c1ccncc1", "CC(C)O", "CCCCCC", "OCCO", "c1ccc(Cl)cc1", "CC(=O)N", "NCCO"]
Y = np.linspace(-2.0, 2.0, len(SMILES))


def _save(tmp_path: Path, model: Ensemble) -> Path:
    return save_model(tmp_path / "m", model, task="regression", target_names=["y"],
                      standardizer=StandardizerConfig().to_dict(), data_hash="0" * 64)


@pytest.fixture(scope="module")
def fitted() -> Ensemble:
    return Ensemble(task="regression", members=("svm", "gbm", "mlp"), seed=0).fit(SMILES, Y)


def test_round_trip_identical_predictions(tmp_path: Path, fitted: Ensemble) -> None:
    path = _save(tmp_path, fitted)
    loaded = load_model(path)
    query = ["CCOCC", "c1ccccc1CC", "OC(=O)CC"]
    m0, s0 = fitted.predict_dist(query)
    m1, s1 = loaded.model.predict_dist(query)
    np.testing.assert_array_equal(m0, m1)
    np.testing.assert_array_equal(s0, s1)
    assert loaded.manifest["format_version"] == FORMAT_VERSION
    assert loaded.manifest["versions"]["torch"] != "not installed"


def test_weights_are_not_pickle(tmp_path: Path, fitted: Ensemble) -> None:
    path = _save(tmp_path, fitted)
    raw = (path / "model.safetensors").read_bytes()
    assert b"\x80\x04\x95" not in raw[:64]  # no pickle protocol header
    assert not any(p.suffix in {".pkl", ".pickle", ".pt", ".joblib"} for p in path.iterdir())


@pytest.mark.parametrize("victim", ["model.safetensors", "model.json", "config.json"])
def test_tampering_is_detected(tmp_path: Path, fitted: Ensemble, victim: str) -> None:
    path = _save(tmp_path, fitted)
    with (path / victim).open("ab") as fh:
        fh.write(b" ")
    with pytest.raises(ArtifactError, match=f"checksum mismatch for {victim}"):
        load_model(path)


def test_future_format_is_refused(tmp_path: Path, fitted: Ensemble) -> None:
    path = _save(tmp_path, fitted)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="newer than this drugforge"):
        load_model(path)


def test_missing_or_foreign_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such directory"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="manifest.json missing"):
        load_model(tmp_path / "empty")


def test_unknown_model_class_is_refused(tmp_path: Path, fitted: Ensemble) -> None:
    path = _save(tmp_path, fitted)
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["model"] = "os.system"
    (copy / "model.json").write_text(json.dumps(meta))
    manifest = json.loads((copy / "manifest.json").read_text())
    import hashlib

    manifest["files"]["model.json"] = hashlib.sha256((copy / "model.json").read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="unknown model 'os.system'"):
        load_model(copy)


def test_artifact_saved_by_v1_still_loads_and_predicts_identically() -> None:
    path = FIXTURES / "artifact_v1"
    expected = json.loads((FIXTURES / "artifact_v1_expected.json").read_text())
    loaded = load_model(path)
    mean, std = loaded.model.predict_dist(expected["query"])
    np.testing.assert_allclose(mean, np.asarray(expected["mean"]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(std, np.asarray(expected["std"]), rtol=1e-6, atol=1e-9)
