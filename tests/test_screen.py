"""``drugforge screen``: every row accounted for, ranking/filters/top-K/dedup, resume, engines."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import one_line_error, run
from drugforge.workflows import screen as screen_module
from drugforge.workflows.screen import ScreenConfig, run_screen

HUGE = "C" * 500  # a 500-heavy-atom alkane


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, moleculenet_dir: Path) -> Path:
    """A Tanimoto SVM on 300 real ESOL molecules (target ``logp``: log solubility)."""
    from drugforge.cli import main

    base = tmp_path_factory.mktemp("screen_model")
    data = base / "esol.csv"
    pd.read_csv(moleculenet_dir / "esol.csv").head(300).to_csv(data, index=False)
    out = base / "svm"
    assert main(["train", str(data), "--target", "logp", "--model", "svm", "--split", "random",
                 "--out", str(out), "--quiet"]) == 0  # fmt: skip
    return out


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, moses_data: Path) -> Path:
    """600 MOSES test molecules with duplicates, as a .smi file."""
    smiles = pd.read_csv(moses_data / "test.csv.gz")["SMILES"].sample(600, random_state=1).tolist()
    smiles[50] = smiles[10]  # a duplicate (same string)
    path = tmp_path_factory.mktemp("screen_lib") / "lib.smi"
    path.write_text("".join(f"{s} m{i}\n" for i, s in enumerate(smiles)))
    return path


def config(library: Path, out: Path, model: Path, **kw: object) -> ScreenConfig:
    base: dict[str, object] = {"library": library, "out": out, "models": [str(model)],
                               "chunk_size": 100, "n_jobs": 1, "quiet": True}
    return ScreenConfig(**(base | kw))


def test_nasty_library_every_row_accounted_for(tmp_path: Path, model_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    lines = [
        "smiles,id", "CCO,ok1", "", "CC(=O,bad_smiles", "c1ccccc1,ok2,extra", f"{HUGE},huge",
        "   ,empty_smiles", "# comment", "CCN,ok3",
    ]  # fmt: skip
    raw = ("\n".join(lines) + "\n").encode() + "CCOé,latin1\n".encode("latin-1") + b"CCCl,ok4\n"
    path = tmp_path / "nasty.csv"
    path.write_bytes(raw)
    out = tmp_path / "hits.csv"
    code, stdout, err = run(["screen", str(path), "--model", str(model_dir), "--out", str(out),
                             "--n-jobs", "1", "--quiet", "--all-rows",
                             str(tmp_path / "all.csv")], capsys)  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["records"] == 8 and summary["blank_lines"] == 2
    assert summary["counts"] == {"hit": 3, "scored": 0, "filtered": 0, "duplicate": 0, "invalid": 5}
    everything = pd.read_csv(tmp_path / "all.csv", keep_default_na=False)
    assert everything["line"].tolist() == [2, 4, 5, 6, 7, 9, 10, 11]  # input order, file lines
    why = dict(zip(everything["line"], everything["reason"], strict=True))
    assert "invalid SMILES" in why[4] or "parse" in why[4]
    assert "fields" in why[5]
    assert "500 heavy atoms" in why[6]
    assert "empty" in why[7].lower()
    assert "utf-8" in why[10]
    rejected = pd.read_csv(tmp_path / "hits.rejected.csv")
    assert rejected["line"].tolist() == [4, 5, 6, 7, 10]
    assert pd.read_csv(out)["id"].tolist() == ["ok1", "ok3", "ok4"]


def test_every_kind_of_bad_record_in_one_truncated_gzip_library(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Malformed line, invalid SMILES, empty line, 500 heavy atoms, wrong encoding and a gzip
    stream cut short, all in one library: no crash, every record before the cut accounted for."""
    good = [f"CCO,g{i}" for i in range(400)]  # bulk, so that the cut lands after the bad lines
    lines = ["smiles,id", "CCN,first", "CC(=O,bad_smiles", "c1ccccc1,ok,extra", "",
             f"{HUGE},huge", "   ,empty_smiles"]  # fmt: skip
    raw = ("\n".join(lines) + "\n").encode() + "CCOé,latin1\n".encode("latin-1")
    raw += ("\n".join(good) + "\n").encode()
    packed = gzip.compress(raw)
    path = tmp_path / "nasty.csv.gz"
    path.write_bytes(packed[: len(packed) - 40])
    out = tmp_path / "hits.csv"
    code, _, err = run(["screen", str(path), "--model", str(model_dir), "--out", str(out),
                        "--n-jobs", "1", "--quiet", "--all-rows", str(tmp_path / "all.csv")],
                       capsys)  # fmt: skip
    one_line_error(code, err, "truncated")
    summary = json.loads((tmp_path / "hits.summary.json").read_text())
    rows = pd.read_csv(tmp_path / "all.csv", keep_default_na=False)
    assert summary["records"] == len(rows) and sum(summary["counts"].values()) == len(rows)
    assert rows["line"].tolist() == sorted(rows["line"]) and rows["line"].iloc[0] == 2
    why = dict(zip(rows["line"], rows["reason"], strict=True))
    assert "invalid SMILES" in why[3] and "fields" in why[4] and "500 heavy atoms" in why[6]
    assert "empty" in why[7].lower() and "utf-8" in why[8]
    assert summary["counts"]["invalid"] >= 5 and 300 < summary["counts"]["hit"] <= 401


def test_truncated_gzip_library_screens_what_is_there_and_exits_non_zero(
    tmp_path: Path, model_dir: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = gzip.compress(library.read_bytes())
    path = tmp_path / "cut.smi.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    out = tmp_path / "hits.parquet"
    code, _, err = run(["screen", str(path), "--model", str(model_dir), "--out", str(out),
                        "--n-jobs", "1", "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "truncated")
    summary = json.loads((tmp_path / "hits.summary.json").read_text())
    assert 200 < summary["records"] < 600
    assert sum(summary["counts"].values()) == summary["records"]
    assert "truncated" in summary["problem"]


def test_rank_filter_top_and_dedup_match_a_direct_computation(tmp_path: Path, model_dir: Path,
                                                              library: Path) -> None:  # fmt: skip
    all_rows = tmp_path / "all.parquet"
    summary = run_screen(config(library, tmp_path / "hits.parquet", model_dir,
                                rank="-(logp - 2)**2", filters=["logp > -5"], top=25,
                                dedup="smiles", all_rows=all_rows))  # fmt: skip
    rows = pd.read_parquet(all_rows)
    assert len(rows) == 600 and rows["row"].tolist() == list(range(1, 601))
    assert rows.loc[50, "status"] == "duplicate" and rows.loc[50, "reason"] == "duplicate of row 11"
    ok = rows[rows["status"].isin(["hit", "scored"])]
    assert (ok["logp"] > -5).all()
    filtered = rows[rows["status"] == "filtered"]
    assert (filtered["logp"] <= -5).all() and filtered["reason"].str.startswith("logp > -5").all()
    expected = ok.assign(s=-(ok["logp"] - 2) ** 2).sort_values(["s", "row"], ascending=[False, True])
    hits = pd.read_parquet(tmp_path / "hits.parquet")
    assert hits["row"].tolist() == expected["row"].head(25).tolist()
    assert hits["rank"].tolist() == list(range(1, 26))
    np.testing.assert_allclose(hits["score"], -(hits["logp"] - 2) ** 2)
    assert set(rows.loc[rows["status"] == "hit", "row"]) == set(hits["row"])
    assert summary.counts["hit"] == 25 and sum(summary.counts.values()) == 600
    assert summary.counts["scored"] == len(ok) - 25


def test_parsed_molecules_predict_as_the_smiles_path(model_dir: Path) -> None:
    """predict_mols (the screen's path) gives drugforge predict's numbers on every kind of input."""
    from rdkit import Chem

    from drugforge.core.artifacts import load_model
    from drugforge.molecules.predict import predict_mols, predict_smiles

    smiles = ["CCO", "CC(=O)[O-].[Na+]", "CC(=O)[O-]", "O=[N+]([O-])c1ccccc1", "C[N+](C)(C)CCO",
              "c1ccccc1.CCCCCCCCCC", "C[NH3+]", "OC(=O)C(F)(F)F.CN", HUGE]  # fmt: skip
    loaded = load_model(model_dir)
    expected, expected_std, expected_errors = predict_smiles(loaded, smiles, quiet=True)
    mean, std, errors = predict_mols(loaded, [Chem.MolFromSmiles(s) for s in smiles], smiles)
    np.testing.assert_allclose(mean, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(std, expected_std, rtol=0, atol=1e-9)
    assert [bool(e) for e in errors] == [bool(e) for e in expected_errors]


def test_named_models_name_their_columns(tmp_path: Path, model_dir: Path, library: Path) -> None:
    out = tmp_path / "hits.csv"
    summary = run_screen(config(library, out, model_dir, models=[f"sol={model_dir}",
                                f"again={model_dir}"], rank="sol - 0.5*again", top=5))  # fmt: skip
    hits = pd.read_csv(out)
    assert {"sol", "sol_std", "again", "again_std"} <= set(hits.columns)
    np.testing.assert_allclose(hits["score"], hits["sol"] - 0.5 * hits["again"])
    assert summary.counts["hit"] == 5


def test_substructure_and_similarity_queries(tmp_path: Path, model_dir: Path,
                                             library: Path) -> None:  # fmt: skip
    out = tmp_path / "hits.csv"
    run_screen(config(library, out, model_dir, require=["c1ccccc1"], exclude=["[F,Cl,Br,I]"],
                      similar_to=["CC(=O)Nc1ccc(O)cc1"], min_similarity=0.2, rank="similarity", top=1000,
                      all_rows=tmp_path / "all.csv"))  # fmt: skip
    from rdkit import Chem

    hits = pd.read_csv(out)
    assert len(hits) > 0 and hits["similarity"].is_monotonic_decreasing
    for smi in hits["smiles"]:
        mol = Chem.MolFromSmiles(smi)
        assert mol.HasSubstructMatch(Chem.MolFromSmarts("c1ccccc1"))
        assert not mol.HasSubstructMatch(Chem.MolFromSmarts("[F,Cl,Br,I]"))
    rows = pd.read_csv(tmp_path / "all.csv", keep_default_na=False)
    reasons = " ".join(rows["reason"])
    assert "lacks required substructure c1ccccc1" in reasons
    assert "has excluded substructure [F,Cl,Br,I]" in reasons
    assert "similarity 0.1" in reasons


def test_builtin_properties_filter_rank_and_profile_columns(tmp_path: Path, model_dir: Path,
                                                           library: Path) -> None:  # fmt: skip
    """--filter "QED>=0.5 and not PAINS" over the profile's values, equal to drugforge profile."""
    from drugforge.molecules.profile import Profiler

    rhodanine = "O=C1C(=Cc2ccccc2)SC(=S)N1"  # drug-like enough, but the classic PAINS hit
    smiles = [line.split()[0] for line in library.read_text().splitlines()[:120]]
    lib = tmp_path / "lib.smi"
    lib.write_text("".join(f"{s}\n" for s in [*smiles, rhodanine]))
    all_rows = tmp_path / "all.parquet"
    summary = run_screen(config(lib, tmp_path / "hits.parquet", model_dir,
                                filters=["QED>=0.5 and not PAINS"], rank="logp - 0.1*sa_score",
                                properties=["alerts"], all_rows=all_rows))  # fmt: skip
    rows = pd.read_parquet(all_rows)
    expected = Profiler(panel=False).profile([*smiles, rhodanine])
    np.testing.assert_allclose(rows["qed"], expected["qed"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rows["sa_score"], expected["sa_score"], rtol=0, atol=1e-12)
    assert rows["PAINS"].tolist() == expected["PAINS"].tolist()
    assert rows["alerts"].tolist() == expected["alerts"].tolist()
    passes = (expected["qed"] >= 0.5) & ~expected["PAINS"].astype(bool)
    assert rows["status"].isin(["hit", "scored"]).tolist() == passes.tolist()
    last = rows.iloc[-1]
    assert last["status"] == "filtered" and "not PAINS (PAINS=" in last["reason"]
    assert last["alerts"].startswith("PAINS:ene_rhod_A(235)")
    np.testing.assert_allclose(rows["score"][passes], (rows["logp"] - 0.1 * rows["sa_score"])[passes])
    assert summary.counts["filtered"] == int((~passes).sum())


def test_property_aliases_of_optimize_work_in_screen(tmp_path: Path, library: Path) -> None:
    """One property table: optimize's spellings (logp, rotb, sa) name the same profile values in
    --filter, --rank and --properties (a model output with that name would still win)."""
    smiles = [line.split()[0] for line in library.read_text().splitlines()[:60]]
    lib = tmp_path / "lib.smi"
    lib.write_text("".join(f"{s}\n" for s in smiles))
    outs = {}
    for tag, filters, rank, props in (
        ("alias", ["logp < 3 and rotb <= 5"], "-sa", ["logp"]),
        ("name", ["clogp < 3 and rotatable_bonds <= 5"], "-sa_score", ["clogp"]),
    ):
        out = tmp_path / f"{tag}.csv"
        run_screen(ScreenConfig(library=lib, out=out, filters=filters, rank=rank,
                                properties=props, chunk_size=16, n_jobs=1, quiet=True))  # fmt: skip
        outs[tag] = pd.read_csv(out)
    pd.testing.assert_frame_equal(outs["alias"], outs["name"])
    assert {"clogp", "rotatable_bonds", "sa_score"} <= set(outs["alias"].columns)
    assert 0 < len(outs["alias"]) < 60


def test_profile_flag_streams_the_whole_profile(tmp_path: Path, library: Path) -> None:
    """screen --profile with no model: every profile column (panel endpoints too) for each row."""
    from drugforge.molecules.profile import Profiler

    smiles = [line.split()[0] for line in library.read_text().splitlines()[:40]]
    lib = tmp_path / "lib.smi"
    lib.write_text("".join(f"{s}\n" for s in [smiles[0], "C1CC", *smiles[1:]]))
    out = tmp_path / "hits.csv"
    run_screen(ScreenConfig(library=lib, out=out, profile=True, chunk_size=16, n_jobs=1,
                            quiet=True))  # fmt: skip
    hits = pd.read_csv(out)
    expected = Profiler().profile([smiles[0], *smiles[1:]])
    assert hits["row"].tolist() == [1, *range(3, 42)]
    assert list(hits.columns)[6:] == [c for c in expected.columns if c != "error"]
    np.testing.assert_allclose(hits["tox21_SR-p53"], expected["tox21_SR-p53"], atol=1e-9)
    np.testing.assert_allclose(hits["mw_pctl_drugs"], expected["mw_pctl_drugs"], atol=1e-9)
    assert hits["lipinski"].tolist() == expected["lipinski"].tolist()


def test_interrupted_screen_resumes_to_the_identical_result(tmp_path: Path, model_dir: Path,
                                                            library: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    kw: dict[str, object] = {"rank": "logp", "top": 40, "dedup": "inchikey",
                             "filters": ["logp > -6"]}
    reference = tmp_path / "ref" / "hits.parquet"
    reference.parent.mkdir()
    run_screen(config(library, reference, model_dir, all_rows=reference.with_name("all.parquet"), **kw))

    out = tmp_path / "run" / "hits.parquet"
    out.parent.mkdir()
    real = screen_module._to_table
    calls = {"n": 0}

    def dies_on_the_fourth(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(screen_module, "_to_table", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        run_screen(config(library, out, model_dir, all_rows=out.with_name("all.parquet"), **kw))
    parts = sorted(p.name for p in out.with_name("hits.parquet.parts").glob("part-*.parquet"))
    assert parts == ["part-00000000.parquet", "part-00000001.parquet", "part-00000002.parquet"]
    monkeypatch.setattr(screen_module, "_to_table", real)
    with pytest.raises(Exception, match="--resume"):
        run_screen(config(library, out, model_dir, all_rows=out.with_name("all.parquet"), **kw))
    with pytest.raises(Exception, match="filters changed"):
        run_screen(config(library, out, model_dir, all_rows=out.with_name("all.parquet"),
                          resume=True, **(kw | {"filters": ["logp > -7"]})))  # fmt: skip
    run_screen(config(library, out, model_dir, all_rows=out.with_name("all.parquet"), resume=True,
                      **kw))  # fmt: skip
    for name in ("hits.parquet", "hits.rejected.parquet", "all.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out.with_name(name)),
                                      pd.read_parquet(reference.with_name(name)))  # fmt: skip
    assert not out.with_name("hits.parquet.parts").exists()
    again = run_screen(config(library, out, model_dir, resume=True, **kw))  # finished: no-op
    assert again.n_records == 600


def test_resume_with_nothing_begun_runs_the_screen(tmp_path: Path, model_dir: Path,
                                                  library: Path) -> None:  # fmt: skip
    """Like Nextflow's -resume: a pipeline may always pass --resume; on a fresh output it starts."""
    kw: dict[str, object] = {"rank": "logp", "top": 40, "dedup": "smiles"}
    plain = tmp_path / "plain" / "hits.parquet"
    plain.parent.mkdir()
    run_screen(config(library, plain, model_dir, all_rows=plain.with_name("all.parquet"), **kw))
    fresh = tmp_path / "fresh" / "hits.parquet"
    fresh.parent.mkdir()
    summary = run_screen(config(library, fresh, model_dir, all_rows=fresh.with_name("all.parquet"),
                                resume=True, **kw))  # fmt: skip
    assert summary.n_records == 600 and summary.counts["hit"] == 40
    for name in ("hits.parquet", "hits.rejected.parquet", "all.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(fresh.with_name(name)),
                                      pd.read_parquet(plain.with_name(name)))  # fmt: skip
    assert not fresh.with_name("hits.parquet.parts").exists()


def test_killed_process_resumes_to_the_identical_result(tmp_path: Path, model_dir: Path,
                                                        library: Path) -> None:  # fmt: skip
    """A real SIGKILL in the middle of a CLI run, then --resume."""
    base = [sys.executable, "-m", "drugforge.cli", "screen", str(library), "--model",
            str(model_dir), "--rank", "logp", "--top", "30", "--chunk-size", "50",
            "--n-jobs", "1", "--quiet"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = tmp_path / "ref.csv"
    subprocess.run([*base, "--out", str(ref)], check=True, env=env)
    out = tmp_path / "hits.csv"
    proc = subprocess.Popen([*base, "--out", str(out)], env=env)
    parts = tmp_path / "hits.csv.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(parts.glob("part-*.parquet"))) >= 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    if proc.returncode == -signal.SIGKILL:
        assert parts.exists() and not out.exists()
    done = subprocess.run([*base, "--out", str(out), "--resume"], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(ref))


def test_worker_processes_give_the_same_result(tmp_path: Path, model_dir: Path,
                                               library: Path) -> None:  # fmt: skip
    one = tmp_path / "one.parquet"
    two = tmp_path / "two.parquet"
    run_screen(config(library, one, model_dir, rank="logp", all_rows=tmp_path / "a1.parquet"))
    run_screen(config(library, two, model_dir, rank="logp", n_jobs=2,
                      all_rows=tmp_path / "a2.parquet"))  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a1.parquet"),
                                  pd.read_parquet(tmp_path / "a2.parquet"))  # fmt: skip


def test_sdf_and_parquet_libraries(tmp_path: Path, model_dir: Path) -> None:
    from rdkit import Chem

    smiles = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O"]
    sdf = tmp_path / "lib.sdf"
    with Chem.SDWriter(str(sdf)) as writer:
        for i, s in enumerate(smiles):
            mol = Chem.MolFromSmiles(s)
            mol.SetProp("_Name", f"c{i}")
            writer.write(mol)
    parquet = tmp_path / "lib.parquet"
    pd.DataFrame({"smiles": smiles, "id": ["c0", "c1", "c2"]}).to_parquet(parquet)
    results = []
    for lib in (sdf, parquet):
        out = tmp_path / f"{lib.suffix[1:]}_hits.csv"
        run_screen(config(lib, out, model_dir))
        results.append(pd.read_csv(out))
    assert results[0]["id"].tolist() == ["c0", "c1", "c2"]
    np.testing.assert_allclose(results[0]["logp"], results[1]["logp"])


def test_bad_requests_are_one_line_errors(tmp_path: Path, model_dir: Path, library: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = str(tmp_path / "hits.csv")
    base = ["screen", str(library), "--model", str(model_dir), "--out", out, "--quiet"]
    one_line_error(*run([*base, "--rank", "pKi"], capsys)[::2], "unknown name 'pKi'")
    one_line_error(*run([*base, "--rank", "qde"], capsys)[::2], "did you mean qed?")
    one_line_error(*run([*base, "--properties", "qed,qedx"], capsys)[::2],
                   "unknown property 'qedx'; choose from: mw, clogp")
    one_line_error(*run([*base, "--filter", "alerts"], capsys)[::2], "unknown name 'alerts'")
    one_line_error(*run([*base, "--exclude", "[[["], capsys)[::2], "neither valid SMARTS")
    one_line_error(*run(["screen", str(tmp_path / "none.smi"), "--model", str(model_dir),
                         "--out", out], capsys)[::2], "file not found")  # fmt: skip
    code, stdout, err = run([*base, "--n-jobs", "1", "--resume"], capsys)  # nothing begun: starts
    assert code == 0, err
    assert json.loads(stdout)["records"] == 600
    one_line_error(*run([*base[:-3], "--out", str(tmp_path / "x.xlsx")], capsys)[::2],
                   "unsupported output type")  # fmt: skip


def test_ray_engine_on_a_local_instance_gives_the_same_result(tmp_path: Path, model_dir: Path,
                                                              library: Path) -> None:  # fmt: skip
    pytest.importorskip("ray")
    local = tmp_path / "local.parquet"
    on_ray = tmp_path / "ray.parquet"
    kw: dict[str, object] = {"rank": "logp", "top": 50, "dedup": "smiles", "chunk_size": 150}
    run_screen(config(library, local, model_dir, all_rows=tmp_path / "local_all.parquet", **kw))
    summary = run_screen(config(library, on_ray, model_dir, engine="ray", n_jobs=2,
                                all_rows=tmp_path / "ray_all.parquet", **kw))  # fmt: skip
    assert summary.n_records == 600
    for a, b in (("local.parquet", "ray.parquet"), ("local_all.parquet", "ray_all.parquet")):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / a), pd.read_parquet(tmp_path / b))
