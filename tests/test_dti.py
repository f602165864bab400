"""Drug-target binding: pair data, pair models and the ``drugforge dti`` commands on DAVIS.

A slice of the real DAVIS set (``../shared/data/dti/davis``: 12 drugs x 25 kinases, with
DeepDTA's fold column) keeps every test in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import one_line_error, run
from davis_slice import write_davis_slice
from drugforge.core.artifacts import load_model, model_from_state, model_state
from drugforge.interactions.data import read_pair_data
from drugforge.interactions.models import build_pair_model

FAST = {"pair-nn": {"n_members": 2, "max_epochs": 15, "hidden": 64, "embed": 32},
        "pair-gbm": {"n_members": 2, "n_estimators": 60, "num_leaves": 15}}  # fmt: skip


@pytest.fixture(scope="module")
def davis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_davis_slice(tmp_path_factory.mktemp("davis"), n_drugs=12, n_targets=25)


def _files(d: Path) -> list[str]:
    return ["--pairs", str(d / "pairs.csv"), "--drugs", str(d / "drugs.csv"),
            "--targets", str(d / "targets.csv")]  # fmt: skip


def _params(name: str) -> list[str]:
    return [a for k, v in FAST[name].items() for a in ("--model-param", f"{name}.{k}={v}")]


def test_reads_three_files_and_one_table(davis: Path, tmp_path: Path) -> None:
    data = read_pair_data(davis / "pairs.csv", davis / "drugs.csv", davis / "targets.csv")
    assert len(data) == 300 and data.y.shape == (300, 1) and not any(data.errors)
    assert set(data.extra["split"]) == {"train0", "train1", "train2", "train3", "train4", "test"}
    table = pd.DataFrame({"smiles": data.smiles[:5], "target_sequence": data.sequences[:5],
                          "affinity": data.y[:5, 0]})  # fmt: skip
    table.to_csv(tmp_path / "one.csv", index=False)
    one = read_pair_data(tmp_path / "one.csv")
    assert one.inputs == data.inputs[:5]
    assert one.target_ids[0].startswith("seq:")


def test_bad_files_name_the_line(davis: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    pairs = (davis / "pairs.csv").read_text().splitlines()
    (tmp_path / "p.csv").write_text("\n".join([*pairs[:4], "999,AAK1,5.0,train0", *pairs[4:]]))
    code, _, err = run(["dti", "train", "--pairs", str(tmp_path / "p.csv"), "--drugs",
                        str(davis / "drugs.csv"), "--targets", str(davis / "targets.csv"),
                        "--out", str(tmp_path / "m")], capsys)  # fmt: skip
    one_line_error(code, err, "p.csv:5: drug_id '999' is not in drugs.csv")
    targets = (davis / "targets.csv").read_text().splitlines()
    targets[3] = targets[3].split(",")[0] + ",MKV1JL"
    (tmp_path / "t.csv").write_text("\n".join(targets))
    code, _, err = run(["dti", "train", "--pairs", str(davis / "pairs.csv"), "--drugs",
                        str(davis / "drugs.csv"), "--targets", str(tmp_path / "t.csv"),
                        "--out", str(tmp_path / "m")], capsys)  # fmt: skip
    one_line_error(code, err, "cannot be used")
    assert "invalid residue '1' at position 4" in err
    (tmp_path / "empty.csv").write_text("")
    code, _, err = run(["dti", "train", "--pairs", str(tmp_path / "empty.csv"), "--out",
                        str(tmp_path / "m")], capsys)  # fmt: skip
    one_line_error(code, err, "empty.csv")


@pytest.mark.parametrize("name", ["pair-nn", "pair-gbm"])
def test_model_overfits_50_pairs_and_round_trips(davis: Path, name: str) -> None:
    data = read_pair_data(davis / "pairs.csv", davis / "drugs.csv", davis / "targets.csv")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(data), 50, replace=False)
    sub = data.subset(idx)
    params = {**FAST[name], "n_members": 1}
    if name == "pair-nn":
        params.update(max_epochs=300, patience=300, dropout=0.0, hidden=256, embed=64)
    else:
        params.update(n_estimators=400, min_child_samples=2, subsample=1.0, colsample_bytree=1.0)
    model = build_pair_model(name, **params).fit(sub.inputs, sub.y, sub.inputs, sub.y)
    pred, _ = model.predict_dist(sub.inputs)
    spread = float(np.var(sub.y))
    assert float(np.mean((pred - sub.y) ** 2)) < 0.1 * spread  # learnt, not the mean
    again = model_from_state(model_state(model))
    np.testing.assert_array_equal(again.predict_dist(sub.inputs)[0], pred)


def test_cli_end_to_end(davis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model"
    code, out, err = run(["dti", "train", *_files(davis),  # the split column is the default
                          "--model", "pair-gbm", *_params("pair-gbm"), "--require", "ci>=0.5",
                          "--out", str(model), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert json.loads((model / "config.json").read_text())["split"] == "column:split"
    assert {"ci", "mse", "rm2", "pearson", "spearman"} <= set(result["test"])
    assert result["test"]["ci"] > 0.6
    split = json.loads((model / "split.json").read_text())
    labels = pd.read_csv(davis / "pairs.csv")["split"]
    assert set(labels.iloc[split["test"]]) == {"test"}
    assert set(labels.iloc[split["train"] + split["val"]]) <= {f"train{i}" for i in range(5)}
    # predict keeps every row in order, marks the bad ones
    pairs = pd.read_csv(davis / "pairs.csv", dtype=str).head(6)
    pairs.loc[2, "drug_id"] = "unknown-drug"
    pairs.to_csv(tmp_path / "query.csv", index=False)
    code, _, err = run(["dti", "predict", str(model), "--pairs", str(tmp_path / "query.csv"),
                        "--drugs", str(davis / "drugs.csv"), "--targets",
                        str(davis / "targets.csv"), "--out", str(tmp_path / "pred.csv"),
                        "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "pred.csv", keep_default_na=False)
    assert list(pred.drug_id.astype(str)) == list(pairs.drug_id.astype(str))
    assert list(pred.columns[-3:]) == ["affinity", "affinity_std", "error"]
    assert "affinity_measured" in pred.columns
    assert pred.error[2] == "drug_id 'unknown-drug' is not in drugs.csv" and pred.affinity[2] == ""
    assert all(pred.error[i] == "" for i in (0, 1, 3, 4, 5))
    stds = [float(pred.affinity_std[i]) for i in (0, 1, 3, 4, 5)]
    assert all(0.05 < s < 2.0 for s in stds), stds  # pKd error bars, not the raw spread x 50
    loaded = load_model(model)
    direct = loaded.predict(read_pair_data(tmp_path / "query.csv", davis / "drugs.csv",
                                           davis / "targets.csv", unknown_ids="mark").inputs)
    assert float(pred.affinity[0]) == pytest.approx(direct.mean[0, 0])
    # profile: every target of the model, strongest first
    smiles = pd.read_csv(davis / "drugs.csv").smiles[0]
    code, _, err = run(["dti", "profile", str(model), "--smiles", smiles, "--out",
                        str(tmp_path / "profile.csv"), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    profile = pd.read_csv(tmp_path / "profile.csv")
    assert len(profile) == 25 and list(profile["rank"]) == list(range(1, 26))
    assert profile.affinity.is_monotonic_decreasing
    code, _, err = run(["dti", "profile", str(model), "--smiles", "C1CC", "--out",
                        str(tmp_path / "bad.csv"), "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "cannot profile 'C1CC'")
    # screen: a library against one of the model's targets, every row accounted for
    library = tmp_path / "lib.csv"
    library.write_text("smiles\n" + "\n".join([*pd.read_csv(davis / "drugs.csv").smiles[:4],
                                               "not a smiles", "CCO"]) + "\n")  # fmt: skip
    code, out, err = run(["dti", "screen", str(model), str(library), "--target-id", "AAK1",
                          "--top", "3", "--out", str(tmp_path / "hits.csv"), "--n-jobs", "1",
                          "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["records"] == 6 and summary["counts"]["invalid"] == 1
    assert summary["counts"]["hit"] == 3 and summary["counts"]["scored"] == 2
    hits = pd.read_csv(tmp_path / "hits.csv")
    assert hits.affinity.is_monotonic_decreasing
    code, _, err = run(["dti", "screen", str(model), str(library), "--target-id", "AAK2",
                        "--out", str(tmp_path / "h2.csv"), "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "did you mean 'AAK1'")
    code, _, err = run(["dti", "screen", str(model), str(library), "--target-sequence", "MKJ",
                        "--out", str(tmp_path / "h3.csv"), "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "invalid residue 'J' at position 3")


@pytest.mark.parametrize("kind,key", [("cold-drug", "drug_id"), ("cold-target", "target_id")])
def test_cold_split_and_auto(davis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             kind: str, key: str) -> None:  # fmt: skip
    model = tmp_path / "m"
    code, out, err = run(["dti", "train", *_files(davis), "--split", kind, "--model", "auto",
                          *_params("pair-gbm"), *_params("pair-nn"), "--cv-folds", "2",
                          "--out", str(model), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    split = json.loads((model / "split.json").read_text())
    ids = pd.read_csv(davis / "pairs.csv")[key].astype(str)
    seen = set(ids.iloc[split["train"] + split["val"]])
    assert split["test"] and not seen & set(ids.iloc[split["test"]])
    metrics = json.loads((model / "metrics.json").read_text())
    assert [row["model"] for row in metrics["auto"]][:2] == ["pair-nn", "pair-gbm"]
    assert json.loads(out)["model"] in ("pair-nn", "pair-gbm", "pair-ensemble")


def test_pretrained_encoders_as_pair_features(davis: Path, tiny_esm: Path) -> None:
    """The chem-lm's molecule vectors and a local protein LM's sequence vectors feed a pair model
    (a tiny random ESM here: no weights can be downloaded), and the model round-trips."""
    data = read_pair_data(davis / "pairs.csv", davis / "drugs.csv", davis / "targets.csv")
    sub = data.subset(range(40))
    model = build_pair_model("pair-nn", drug_featurizers=["chem-lm"],
                             target_featurizers=[f"plm:{tiny_esm}", "aac"],
                             **FAST["pair-nn"]).fit(sub.inputs, sub.y)  # fmt: skip
    mean, std = model.predict_dist(sub.inputs)
    assert mean.shape == (40, 1) and np.isfinite(mean).all() and std is not None
    assert model.arch_.d_target == 16 + 20 and model.arch_.d_drug > 64
    again = model_from_state(model_state(model))
    np.testing.assert_allclose(again.predict_dist(sub.inputs)[0], mean, rtol=1e-6)


def test_residue_cnn_target_encoder_learns_and_round_trips(davis: Path) -> None:
    """``target_encoder="cnn"``: DeepDTA's residue CNN over whole sequences of any length (short
    random ones here, so the CPU test stays fast), learnt end to end; labels depend on a motif."""
    rng = np.random.default_rng(0)
    smiles = pd.read_csv(davis / "drugs.csv").smiles.tolist()[:3]
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    seqs = ["".join(rng.choice(letters, size=int(rng.integers(30, 90)))) for _ in range(12)]
    seqs = [s[:10] + "WWW" + s[10:] if i % 2 else s for i, s in enumerate(seqs)]
    pairs = [(m, s) for m in smiles for s in seqs]
    y = np.array([[7.0 if "WWW" in s else 5.0] for _, s in pairs]) + rng.normal(0, 0.05, (36, 1))
    model = build_pair_model("pair-nn", target_encoder="cnn", n_members=1, max_epochs=120,
                             patience=120, hidden=64, embed=32, dropout=0.0,
                             lr=3e-3).fit(pairs, y, pairs, y)  # fmt: skip
    pred, _ = model.predict_dist(pairs)
    assert float(np.mean((pred - y) ** 2)) < 0.1 * float(np.var(y))
    again = model_from_state(model_state(model))
    np.testing.assert_allclose(again.predict_dist(pairs)[0], pred, rtol=1e-5)


def test_auto_keeps_an_average_of_the_pool(davis: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When cross-validation prefers the average of pair-nn and pair-gbm, the final model is a
    pair-ensemble of both with the configured ensemble sizes; it saves and loads."""
    from drugforge.core.selection.auto import AutoResult, ModelSpec
    from drugforge.workflows import dti

    light = {n: {**FAST[n], "n_members": 1} for n in FAST}
    chosen = ModelSpec("ensemble", {"members": ["pair-nn", "pair-gbm"], "member_params": light})
    monkeypatch.setattr(dti, "select_model", lambda *a, **k: AutoResult(chosen, "rmse", []))
    config = dti.DTITrainConfig(pairs=str(davis / "pairs.csv"), model_params=FAST,
                                out="unused", quiet=True)  # fmt: skip
    data = read_pair_data(davis / "pairs.csv", davis / "drugs.csv", davis / "targets.csv")
    spec, _ = dti._choose(config, data, lambda _: None)
    assert spec.name == "pair-ensemble"
    assert {m: p["n_members"] for m, p in spec.params["member_params"].items()} == {
        "pair-nn": 2, "pair-gbm": 2}  # the configured sizes, not the CV's single members
    sub = data.subset(range(60))
    model = build_pair_model(spec.name, **spec.params).fit(sub.inputs, sub.y)
    mean, std = model.predict_dist(sub.inputs)
    again = model_from_state(model_state(model))
    np.testing.assert_allclose(again.predict_dist(sub.inputs)[0], mean, rtol=1e-6)
    assert std is not None and (std > 0).all()


def test_same_seed_same_model_and_ranking(davis: Path) -> None:
    """DeepPurpose's users see repurposing rankings change between runs; here the same seed gives
    the same predictions (and so the same profile), another seed a different model."""
    data = read_pair_data(davis / "pairs.csv", davis / "drugs.csv", davis / "targets.csv")
    sub = data.subset(range(120))

    def fit(seed: int) -> np.ndarray:
        model = build_pair_model("pair-nn", **{**FAST["pair-nn"], "seed": seed})
        return model.fit(sub.inputs, sub.y).predict_dist(sub.inputs)[0]

    first, again, other = fit(3), fit(3), fit(4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
