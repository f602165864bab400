"""``drugforge pretrain`` and ``drugforge generate`` end to end on real MOSES molecules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from safetensors.numpy import load_file

from cli_helpers import one_line_error, run
from drugforge.cli import main
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.generation.sampling import (
    check_samples,
    sample_strings,
    shipped_generators,
)

PRETRAIN = ["--size", "tiny", "--max-steps", "8", "--batch-size", "16", "--device", "cpu",
            "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(moses_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 MOSES training molecules as a CSV file."""
    path = tmp_path_factory.mktemp("corpus") / "moses200.csv"
    pd.read_csv(moses_data / "train.csv.gz", nrows=200).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def generator(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "lm"
    assert main(["pretrain", str(corpus), "--out", str(out), *PRETRAIN]) == 0
    return out


def test_pretrain_writes_generator_checkpoints_and_model_card(
    generator: Path, corpus: Path
) -> None:
    names = {p.name for p in generator.iterdir()}
    assert {"manifest.json", "model.safetensors", "model.json", "config.json", "metrics.json",
            "model_card.md", "checkpoints"} <= names  # fmt: skip
    manifest = json.loads((generator / "manifest.json").read_text())
    assert manifest["format"] == "drugforge-generator" and manifest["kind"] == "chem-lm"
    assert set(manifest["files"]) == names - {"manifest.json", "checkpoints"}
    meta = json.loads((generator / "model.json").read_text())
    assert meta["config"]["n_layer"] == 2 and "[C@@H]" in meta["tokens"]
    assert meta["training"]["steps"] == 8 and meta["training"]["corpus"]["files"][0]["records"] == 200
    metrics = json.loads((generator / "metrics.json").read_text())
    assert metrics["tokens_seen"] > 8 * 16 * 10 and np.isfinite(metrics["val_loss"])
    card = (generator / "model_card.md").read_text()
    for text in ("drugforge pretrain", str(corpus), "--max-steps 8", "seed 0", "tokens seen",
                 "wall time", "hardware", "final validation loss", "8 of 8 steps"):  # fmt: skip
        assert text in card, text
    assert (generator / "checkpoints" / "run.json").is_file()
    assert (generator / "checkpoints" / "step-000000008" / "state.json").is_file()


def test_generate_marks_every_sampled_string(
    generator: Path, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "samples.csv"
    code, stdout, err = run(["generate", "--model", str(generator), "-n", "50", "--out", str(out),
                             "--seed", "1", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == ["smiles", "raw", "valid", "unique", "novel", "error"]
    assert len(frame) == 50 and json.loads(stdout)["sampled"] == 50
    train = set(pd.read_csv(corpus)["SMILES"])
    seen: set[str] = set()
    for row in frame.itertuples():
        raw = "" if pd.isna(row.raw) else str(row.raw)
        mol = parse_smiles(raw)
        assert bool(row.valid) == (mol is not None)
        if mol is None:  # an invalid string is never passed off as a molecule
            assert not row.unique and pd.isna(row.novel) and isinstance(row.error, str)
            assert row.error and (pd.isna(row.smiles) or row.smiles == raw)
        else:
            canonical = Chem.MolToSmiles(mol)
            assert row.smiles == canonical and pd.isna(row.error)
            assert bool(row.unique) == (canonical not in seen)
            assert bool(row.novel) == (canonical not in train)
            seen.add(canonical)
    # the same seed gives the same strings, also through the function the benchmarks call
    strings = sample_strings(str(generator), 50, seed=1)
    assert [("" if pd.isna(r) else r) for r in frame["raw"]] == strings
    assert sample_strings(str(generator), 50, seed=2) != strings


def test_second_generate_reads_the_corpus_novelty_set_from_the_cache(
    generator: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from drugforge.molecules.data import corpus_cache

    monkeypatch.setenv("DRUGFORGE_CACHE", str(tmp_path / "cache"))
    calls = {"n": 0}
    real = corpus_cache.read_smiles_set

    def canonicalize_once(*args: object, **kwargs: object) -> set[str]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise AssertionError("the corpus was canonicalized again")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus_cache, "read_smiles_set", canonicalize_once)
    frames, summaries = [], []
    for name in ("first.csv", "second.csv"):
        out = tmp_path / name
        code, stdout, err = run(["generate", "--model", str(generator), "-n", "20", "--out",
                                 str(out), "--seed", "3", "--quiet"], capsys)  # fmt: skip
        assert code == 0, err
        frames.append(pd.read_csv(out, keep_default_na=False, na_values=[""]))
        summaries.append({k: v for k, v in json.loads(stdout).items() if k != "out"})
    assert calls["n"] == 1
    assert len(list((tmp_path / "cache" / "corpus").glob("*.smi"))) == 1
    assert summaries[0]["novel"] is not None  # novelty was computed, not left empty
    assert summaries[0] == summaries[1]
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_cached_canonical_set_equals_a_fresh_canonicalization(corpus: Path, tmp_path: Path) -> None:
    from drugforge.core.runtime import sha256_file
    from drugforge.molecules.data.corpus import corpus_file, read_smiles_set
    from drugforge.molecules.data.corpus_cache import canonical_smiles_set

    file = corpus_file(corpus)
    fresh = read_smiles_set([file], canonical=True)
    first = canonical_smiles_set(file, sha256_file(corpus), folder=tmp_path)
    cached = canonical_smiles_set(file, sha256_file(corpus), folder=tmp_path)
    assert len(fresh) > 190 and first == fresh and cached == fresh
    # another checksum (a changed file) is another entry, never the old set
    assert canonical_smiles_set(file, "0" * 64, folder=tmp_path) == fresh
    assert len(list(tmp_path.glob("*.smi"))) == 2


def test_generate_parquet_and_filters(
    generator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "samples.parquet"
    code, stdout, err = run(["generate", "--model", str(generator), "-n", "40", "--out", str(out),
                             "--valid-only", "--unique", "--top-k", "5", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    frame = pd.read_parquet(out)
    summary = json.loads(stdout)
    assert len(frame) == summary["written"] == summary["unique"] <= summary["valid"] <= 40
    assert frame["valid"].all() and frame["unique"].all() and frame["smiles"].is_unique


def test_check_samples_on_known_strings() -> None:
    frame = check_samples(["CCO", "OCC", "C1CC", "", "CC<unk>", "C(C)(C)(C)(C)C"], {"CCO"})
    assert frame["smiles"].tolist()[:2] == ["CCO", "CCO"]
    assert frame["valid"].tolist() == [True, True, False, False, False, False]
    assert frame["unique"].tolist() == [True, False, False, False, False, False]
    assert frame["novel"].tolist()[:2] == [False, False] and frame["novel"][2:].isna().all()
    errors = frame["error"].tolist()
    assert errors[:2] == ["", ""] and errors[3] == "empty string"
    assert errors[2].startswith("SMILES syntax error") and "unknown token" in errors[4]
    assert errors[5].startswith("AtomValenceException")


def test_resume_after_a_time_budget_matches_an_uninterrupted_run(
    generator: Path, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lm"
    code, stdout, err = run(["pretrain", str(corpus), "--out", str(out), *PRETRAIN,
                             "--time-budget-minutes", "0.00001"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["stop_reason"] == "time_budget"
    assert "1 of 8 steps (stopped: time_budget)" in (out / "model_card.md").read_text()
    # a different setting is refused; the saved ones are reused when omitted
    code, _, err = run(["pretrain", "--out", str(out), "--resume", "--lr", "0.5"], capsys)
    one_line_error(code, err, "--lr 0.5 differs from the run being resumed (0.001)")
    rescheduled = tmp_path / "rescheduled"
    shutil.copytree(out, rescheduled)
    code, stdout, err = run(["pretrain", "--out", str(out), "--resume", "--quiet"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 8
    a = load_file(str(out / "model.safetensors"))
    b = load_file(str(generator / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    # --max-steps on resume moves the end of the schedule (never to or before the step reached)
    code, _, err = run(["pretrain", "--out", str(rescheduled), "--resume", "--max-steps", "1",
                        "--quiet"],
                       capsys)  # fmt: skip
    one_line_error(code, err, "--max-steps 1 is not beyond the last checkpoint's step 1")
    code, stdout, err = run(["pretrain", "--out", str(rescheduled), "--resume", "--max-steps",
                             "11", "--time-budget-minutes", "0.00001"], capsys)  # fmt: skip
    assert code == 0, err
    assert "the learning-rate schedule is recomputed from step 1" in err
    assert json.loads(stdout)["steps"] == 2 and json.loads(stdout)["max_steps"] == 11
    code, stdout, err = run(["pretrain", "--out", str(rescheduled), "--resume", "--quiet"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 11
    history = json.loads((rescheduled / "checkpoints" / "run.json").read_text())["reschedules"]
    assert [(h["at_step"], h["from_max_steps"], h["to_max_steps"]) for h in history] == [(1, 8, 11)]
    c = load_file(str(rescheduled / "model.safetensors"))
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    # a run that reached its last step goes on when resumed with more steps
    code, stdout, err = run(["pretrain", "--out", str(rescheduled), "--resume", "--max-steps",
                             "13", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 13 and json.loads(stdout)["stop_reason"] == "max_steps"


def test_init_continues_pretraining_from_a_saved_model(
    generator: Path, moses_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--init: the saved weights and vocabulary, a fresh schedule; resumable; recorded."""
    more = tmp_path / "more.smi"
    more.write_text("".join(f"{s}\n" for s in pd.read_csv(moses_data / "train.csv.gz",
                                                         skiprows=range(1, 201), nrows=150)["SMILES"]))
    out = tmp_path / "continued"
    steps = ["--max-steps", "4", "--batch-size", "16", "--device", "cpu", "--quiet"]
    # step 0 of the continued run is the saved model: validation loss as low as after training
    code, stdout, err = run(["pretrain", str(more), "--out", str(out), "--init", str(generator),
                             *steps, "--time-budget-minutes", "0.00001"], capsys)  # fmt: skip
    assert code == 0, err
    saved = json.loads((generator / "model.json").read_text())
    meta = json.loads((out / "model.json").read_text())
    assert meta["tokens"] == saved["tokens"] and meta["config"] == saved["config"]
    assert meta["training"]["init"]["model"] == str(generator)
    assert meta["training"]["init"]["steps"] == 8
    code, stdout, err = run(["pretrain", "--out", str(out), "--resume", "--quiet"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 4
    card = (out / "model_card.md").read_text()
    assert f"--init {generator}" in card and "continued from" in card and "--size" not in card
    a = load_file(str(out / "model.safetensors"))
    b = load_file(str(generator / "model.safetensors"))
    assert a.keys() == b.keys() and not all(np.array_equal(a[k], b[k]) for k in a)
    fresh = tmp_path / "fresh"
    assert main(["pretrain", str(more), "--out", str(fresh), *PRETRAIN[:2], *steps]) == 0
    init_loss = json.loads((out / "metrics.json").read_text())["val_loss"]
    fresh_loss = json.loads((fresh / "metrics.json").read_text())["val_loss"]
    assert init_loss < fresh_loss  # 8 + 4 steps beat 4 steps from random weights
    code, _, err = run(["pretrain", str(more), "--out", str(tmp_path / "x"), "--init",
                        str(generator), "--size", "tiny"], capsys)  # fmt: skip
    one_line_error(code, err, "--init keeps the architecture of the model it starts from")
    code, _, err = run(["pretrain", str(more), "--out", str(tmp_path / "y"), "--init",
                        str(tmp_path / "nowhere")], capsys)  # fmt: skip
    one_line_error(code, err, "nowhere")


def test_bad_inputs_give_one_line_and_exit_2(
    generator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.csv"
    out.write_text("x\n")
    code, _, err = run(["generate", "--model", str(generator), "-n", "5", "--out", str(out)],
                       capsys)  # fmt: skip
    one_line_error(code, err, "output exists; use --force to overwrite")
    code, _, err = run(["generate", "--model", "no-such-model", "-n", "5", "--out",
                        str(tmp_path / "a.csv")], capsys)  # fmt: skip
    one_line_error(code, err, "unknown generator 'no-such-model'")
    if "chem-lm" not in shipped_generators():
        code, _, err = run(["generate", "-n", "5", "--out", str(tmp_path / "b.csv")], capsys)
        one_line_error(code, err, "no trained 'chem-lm' generator is shipped")
    code, _, err = run(["generate", "--model", str(generator), "-n", "0", "--out",
                        str(tmp_path / "c.csv")], capsys)  # fmt: skip
    one_line_error(code, err, "invalid arguments: n:")

    empty = tmp_path / "empty.smi"
    empty.write_text("")
    code, _, err = run(["pretrain", str(empty), "--out", str(tmp_path / "e"), *PRETRAIN], capsys)
    one_line_error(code, err, "empty.smi: file is empty")
    header_only = tmp_path / "header.csv"
    header_only.write_text("smiles\n")
    code, _, err = run(["pretrain", str(header_only), "--out", str(tmp_path / "h"), *PRETRAIN],
                       capsys)  # fmt: skip
    one_line_error(code, err, "header.csv: file is empty (no SMILES)")
    code, _, err = run(["pretrain", "--out", str(tmp_path / "n"), *PRETRAIN], capsys)
    one_line_error(code, err, "no training data")
    code, _, err = run(["pretrain", str(header_only), "--out", str(generator), *PRETRAIN], capsys)
    one_line_error(code, err, "output directory exists; use --resume")
    code, _, err = run(["pretrain", "--out", str(tmp_path / "none"), "--resume"], capsys)
    one_line_error(code, err, "nothing to resume")

    weights = generator.parent / "tampered"
    weights.mkdir()
    for p in generator.iterdir():
        if p.is_file():
            (weights / p.name).write_bytes(p.read_bytes())
    (weights / "model.json").write_text((weights / "model.json").read_text().replace("2", "3", 1))
    code, _, err = run(["generate", "--model", str(weights), "-n", "5", "--out",
                        str(tmp_path / "d.csv")], capsys)  # fmt: skip
    one_line_error(code, err, "checksum mismatch for model.json")
