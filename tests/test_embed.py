"""``drugforge embed``: every row kept in order, one vector per good molecule, reasons for bad ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drugforge.cli import main
from drugforge.core.artifacts import load_generator

PRETRAIN = ["--size", "tiny", "--max-steps", "4", "--batch-size", "16", "--eval-every", "2",
            "--checkpoint-every", "2", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def lm_dir(moses_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("corpus") / "moses100.csv"
    pd.read_csv(moses_data / "train.csv.gz", nrows=100).to_csv(corpus, index=False)
    out = tmp_path_factory.mktemp("lm") / "lm"
    assert main(["pretrain", str(corpus), "--out", str(out), *PRETRAIN]) == 0
    return out


def test_embed_keeps_every_row_and_marks_bad_ones(
    lm_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = pd.DataFrame({
        "name": ["aspirin", "bad", "tellurium", "aspirin-salt", "empty"],
        "smiles": ["CC(=O)Oc1ccccc1C(=O)O", "C1CC", "C[Te]C", "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]", ""],
    })  # fmt: skip
    src = tmp_path / "in.csv"
    rows.to_csv(src, index=False)
    out = tmp_path / "emb.csv"
    assert main(["embed", str(src), "--out", str(out), "--model", str(lm_dir), "--quiet"]) == 0
    got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert got["name"].tolist() == rows["name"].tolist()
    d = load_generator(lm_dir).generator.config.d_model  # type: ignore[attr-defined]
    vec = got[[f"emb_{j}" for j in range(d)]].to_numpy(dtype=float)
    assert np.isfinite(vec[0]).all() and np.isfinite(vec[3]).all()
    # the salt form standardizes to aspirin itself: the same vector
    np.testing.assert_allclose(vec[0], vec[3], rtol=0, atol=1e-6)
    for i in (1, 2, 4):
        assert np.isnan(vec[i]).all()
    errors = got["error"].fillna("").tolist()
    assert errors[0] == "" and errors[3] == ""
    assert "vocabulary" in errors[2]
    assert errors[1] and errors[4]
    # the vectors are the model's own embedding of the standardized molecule
    model = load_generator(lm_dir).generator
    direct = model.embed(["CC(=O)Oc1ccccc1C(=O)O"])  # type: ignore[attr-defined]
    np.testing.assert_allclose(vec[0], direct[0], rtol=1e-5, atol=1e-5)


def test_embed_npy_and_refusals(
    lm_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.smi"
    src.write_text("CCO\nc1ccccc1\n")
    out = tmp_path / "emb.npy"
    assert main(["embed", str(src), "--out", str(out), "--model", str(lm_dir), "--quiet"]) == 0
    matrix = np.load(out)
    assert matrix.shape[0] == 2 and np.isfinite(matrix).all()
    capsys.readouterr()
    assert main(["embed", str(src), "--out", str(out), "--model", str(lm_dir)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and err.count("\n") == 1
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["embed", str(empty), "--out", str(tmp_path / "x.csv"),
                 "--model", str(lm_dir)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
