"""The real commands, end to end, on small real data; every bad input gives one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run


@pytest.fixture()
def svm_model(esol_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "model"
    code, stdout, err = run(
        ["train", str(esol_csv), "--target", "logp", "--model", "svm", "--split", "scaffold",
         "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["test"]["rmse"] > 0
    return out


def test_train_writes_complete_artifact(svm_model: Path) -> None:
    names = {p.name for p in svm_model.iterdir()}
    assert {"manifest.json", "model.safetensors", "model.json", "config.json", "split.json",
            "metrics.json", "report.html", "report.md", "report.json"} <= names
    manifest = json.loads((svm_model / "manifest.json").read_text())
    assert manifest["task"] == "regression" and manifest["target_names"] == ["logp"]
    assert len(manifest["data_hash"]) == 64
    split = json.loads((svm_model / "split.json").read_text())
    assert split["method"] == "scaffold" and split["seed"] == 0
    assert set(split["train"]).isdisjoint(split["test"])
    config = json.loads((svm_model / "config.json").read_text())
    assert config["model"] == "svm" and config["seed"] == 0


def test_predict_keeps_every_row_in_order(svm_model: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    inp = tmp_path / "new.csv"
    pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"],
        "smiles": ["CCO", "not_a_smiles", "", "c1ccccc1O", "[Na+].CC(=O)[O-]"],
    }).to_csv(inp, index=False)
    out = tmp_path / "pred.csv"
    code, _, err = run(["predict", str(svm_model), str(inp), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    pred = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(pred["id"]) == ["a", "b", "c", "d", "e"]
    assert {"logp", "logp_std", "error"} <= set(pred.columns)
    values = pred["logp"].to_numpy(dtype=float)
    assert np.isfinite(values[[0, 3, 4]]).all() and np.isnan(values[[1, 2]]).all()
    errors = pred["error"].fillna("").tolist()
    assert errors[0] == "" and errors[3] == "" and errors[4] == ""
    assert "invalid" in errors[1].lower() and errors[2] != ""
    assert (pred["logp_std"].to_numpy(dtype=float)[[0, 3, 4]] > 0).all()
    # the salt is standardized to acetic acid: same prediction as the parent molecule
    code, _, _ = run(["predict", str(svm_model), str(inp), "--out", str(out), "--quiet"], capsys)
    assert code == 2  # exists without --force


def test_evaluate_prints_metrics(svm_model: Path, esol_csv: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = run(["evaluate", str(svm_model), str(esol_csv), "--out",
                             str(tmp_path / "ev"), "--quiet"], capsys)
    assert code == 0, err
    result = json.loads(stdout)
    assert result["n_molecules"] > 150 and result["metrics"]["rmse"] < 1.5
    assert (tmp_path / "ev" / "report.html").is_file()


def test_tampered_model_is_refused(svm_model: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    meta = svm_model / "model.json"
    meta.write_text(meta.read_text().replace("regression", "classification", 1))
    inp = tmp_path / "x.smi"
    inp.write_text("CCO\n")
    code, _, err = run(["predict", str(svm_model), str(inp), "--out", str(tmp_path / "p.csv")],
                       capsys)
    assert code == 2 and "checksum mismatch for model.json" in err
    assert not (tmp_path / "p.csv").exists()


def test_gate_failure_saves_nothing(bbbp_csv: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    code, _, err = run(["train", str(bbbp_csv), "--target", "p_np", "--model", "gbm",
                        "--skip-invalid", "--require", "roc_auc>=0.999", "--max-attempts", "1",
                        "--out", str(out), "--quiet"], capsys)
    assert code == 3
    assert "requirement not met" in err and "roc_auc" in err
    assert not out.exists()
    assert (tmp_path / "m.rejected" / "metrics.json").is_file()


def test_gate_pass_is_recorded(bbbp_csv: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    code, _, err = run(["train", str(bbbp_csv), "--target", "p_np", "--model", "gbm",
                        "--skip-invalid", "--require", "roc_auc>=0.5", "--out", str(out),
                        "--quiet"], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["gate"]["passed"] is True and metrics["test"]["roc_auc"] >= 0.5


@pytest.mark.parametrize(
    ("content", "extra", "needle"),
    [
        ("", [], "empty"),
        ("smiles,y\n", [], "no data rows"),
        ("smiles,y\nCCO,1.0\nCCC,2.0\n", ["--target", "pIC50"], "pIC50"),
        ("smiles,y\nCCO,high\nCCC,2.0\nCCN,1.0\n", ["--target", "y"], "bad.csv:2: target column 'y' has a non-numeric"),
        ("smiles,y\nCCO,\nCCC,\nCCN,\n", ["--target", "y"], "has no values"),
        ("smiles,y\nCCO,1\nCCC,1\nCCN,1\n", ["--target", "y", "--task", "classification"],
         "class"),
    ],
    ids=["empty-file", "header-only", "missing-column", "non-numeric", "all-missing",
         "single-class"],
)
def test_bad_training_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                            extra: list[str], needle: str) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content)
    out = tmp_path / "m"
    code, _, err = run(["train", str(data), *extra, "--model", "svm", "--out", str(out)], capsys)
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and "bad.csv" in lines[0] and needle.lower() in lines[0].lower()
    assert not out.exists()


def test_wrong_file_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.xlsx"
    data.write_bytes(b"PK\x03\x04junk")
    code, _, err = run(["train", str(data), "--out", str(tmp_path / "m")], capsys)
    assert code == 2 and "unsupported file type" in err and "data.xlsx" in err


def test_invalid_smiles_stop_training_unless_skipped(esol_csv: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(esol_csv)
    frame.loc[3, "smiles"] = "C1CC(=O"
    frame.loc[10, "smiles"] = "xyz"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    code, _, err = run(["train", str(bad), "--target", "logp", "--model", "svm", "--out",
                        str(tmp_path / "m")], capsys)
    assert code == 2 and "bad.csv" in err and "5" in err and "12" in err  # lines 5 and 12
    assert "--skip-invalid" in err
    code, _, err = run(["train", str(bad), "--target", "logp", "--model", "svm", "--out",
                        str(tmp_path / "m"), "--skip-invalid", "--quiet"], capsys)
    assert code == 0, err


def test_existing_output_needs_force(svm_model: Path, esol_csv: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["train", str(esol_csv), "--target", "logp", "--model", "svm", "--out",
                        str(svm_model)], capsys)
    assert code == 2 and "--force" in err


def test_unknown_choices_are_listed(esol_csv: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["train", str(esol_csv), "--split", "fancy", "--out", str(tmp_path / "m")],
                       capsys)
    assert code == 2 and "scaffold" in err and "random" in err


def test_auto_multitask_classification(moleculenet_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(moleculenet_dir / "tox21.csv").sample(400, random_state=1)
    data = tmp_path / "tox.csv"
    frame[["smiles", "NR-AR", "NR-AhR", "SR-MMP"]].to_csv(data, index=False)
    out = tmp_path / "m"
    code, _, err = run(["train", str(data), "--target", "NR-AR", "--target", "NR-AhR", "--target",
                        "SR-MMP", "--model", "auto", "--auto-pool", "svm,gbm", "--cv-folds", "3",
                        "--split", "random", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["attempts"][0]["auto_cv"], "auto records its cross-validation table"
    pred = tmp_path / "p.parquet"
    code, _, err = run(["predict", str(out), str(data), "--out", str(pred), "--quiet"], capsys)
    assert code == 0, err
    result = pd.read_parquet(pred)
    assert len(result) == 400
    # input columns are kept; predictions for the same-named targets get a _pred suffix
    for t in ("NR-AR", "NR-AhR", "SR-MMP"):
        p = result[f"{t}_pred"].dropna()
        assert ((p >= 0) & (p <= 1)).all()


def test_datasets_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           moleculeace_data: Path) -> None:
    code, out, _ = run(["datasets", "list"], capsys)
    assert code == 0 and "moleculeace/CHEMBL204_Ki" in out and "tox21" in out
    code, out, _ = run(["datasets", "show", "moleculeace/CHEMBL2047_EC50"], capsys)
    assert code == 0 and "CHEMBL2047" in out
    dest = tmp_path / "fxr.csv"
    code, _, err = run(["datasets", "export", "moleculeace/CHEMBL2047_EC50", str(dest)], capsys)
    assert code == 0, err
    assert len(pd.read_csv(dest)) > 500


def test_console_script_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "drugforge", "models"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and "mpnn" in proc.stdout and "auto" in proc.stdout


def test_gate_escalates_to_the_next_configuration(esol_csv: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    code, _, err = run(["train", str(esol_csv), "--target", "logp", "--model", "svm",
                        "--require", "rmse<=0.01", "--max-attempts", "2", "--auto-pool", "gp,gbm",
                        "--model-param", "gbm.n_estimators=50",
                        "--cv-folds", "3", "--out", str(out)], capsys)
    assert code == 3
    assert "attempt 1" in err and "attempt 2" in err and "auto: chose" in err
    metrics = json.loads((tmp_path / "m.rejected" / "metrics.json").read_text())
    assert metrics["attempts"][0]["model"] == "svm"
    assert len(metrics["attempts"]) == 2 and metrics["attempts"][1]["auto_cv"]
    assert not out.exists()
