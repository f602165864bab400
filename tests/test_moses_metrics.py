"""MOSES metrics: hand-checked values on tiny sets, ChemNet against the fcd package, the filters,
safe loading of the pickled data files, the reference cache and the CLI end to end."""

from __future__ import annotations

import gzip
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from drugforge.cli import main
from drugforge.core.errors import InputError
from drugforge.molecules.chem import moses_features
from drugforge.molecules.chem.moses_features import (
    brics_fragments,
    describe_molecules,
    moses_fingerprint,
    moses_scaffold,
)
from drugforge.molecules.chem.moses_filters import moses_filter_smarts, passes_moses_filters
from drugforge.molecules.chem.sascore import load_fragment_scores, n_chiral_centers, sa_score
from drugforge.molecules.generation import moses_reference, moses_similarity
from drugforge.molecules.generation.fcd import (
    CHEMNET_VOCAB,
    chemnet_activations,
    chemnet_statistics,
    chemnet_tokens,
    frechet_distance,
    load_chemnet,
)
from drugforge.molecules.generation.moses import (
    cosine_similarity,
    evaluate_moses,
    fraction_unique,
    fraction_valid,
    novelty,
)
from drugforge.molecules.generation.moses_reference import compute_reference, load_reference
from drugforge.molecules.generation.moses_similarity import (
    internal_diversities,
    nearest_neighbour_similarity,
)
from drugforge.workflows.benchmark import read_smiles_file


def packed(*bit_sets: set[int]) -> np.ndarray:
    """Packed 1024-bit fingerprints with the given on-bits."""
    rows = np.zeros((len(bit_sets), 1024), dtype=np.uint8)
    for i, bits in enumerate(bit_sets):
        rows[i, sorted(bits)] = 1
    return np.packbits(rows, axis=1)


def fp(smiles: str) -> np.ndarray:
    mol = Chem.MolFromSmiles(smiles)
    return moses_fingerprint(mol)[None, :]


# ------------------------------------------------------------------------ fingerprint metrics
def test_benzene_and_toluene_fingerprints() -> None:
    # benzene has one atom environment per radius (3 bits), all shared with toluene's 11
    benzene = set(np.flatnonzero(np.unpackbits(fp("c1ccccc1")[0])).tolist())
    toluene = set(np.flatnonzero(np.unpackbits(fp("Cc1ccccc1")[0])).tolist())
    assert benzene == {64, 389, 849}
    assert len(toluene) == 11 and benzene < toluene


def test_internal_diversity_of_two_molecules_by_hand() -> None:
    # T(benzene, toluene) = 3/11; each molecule's mean similarity is (1 + 3/11) / 2
    fps = np.vstack([fp("c1ccccc1"), fp("Cc1ccccc1")])
    intdiv, intdiv2 = internal_diversities(fps, (1, 2))
    assert intdiv == pytest.approx(4 / 11, abs=1e-7)  # 1 - (1 + 3/11)/2
    assert intdiv2 == pytest.approx(1 - math.sqrt(65) / 11, abs=1e-7)  # 1 - sqrt((1 + 9/121)/2)


def test_internal_diversity_of_synthetic_bits() -> None:
    # {0,1,2,3} vs {2,3,4,5}: Tanimoto 2/6; a duplicate counts as its own pair (T = 1)
    fps = packed({0, 1, 2, 3}, {2, 3, 4, 5}, {0, 1, 2, 3})
    intdiv, intdiv2 = internal_diversities(fps, (1, 2))
    # per molecule: mean similarity (1 + 1/3 + 1)/3, (1/3 + 1 + 1/3)/3, (1 + 1/3 + 1)/3
    assert intdiv == pytest.approx(1 - (7 / 9 + 5 / 9 + 7 / 9) / 3, abs=1e-7)
    means2 = [math.sqrt((2 + 1 / 9) / 3), math.sqrt((1 + 2 / 9) / 3), math.sqrt((2 + 1 / 9) / 3)]
    assert intdiv2 == pytest.approx(1 - sum(means2) / 3, abs=1e-7)


def test_snn_by_hand_and_of_a_set_with_itself() -> None:
    # toluene vs benzene 3/11, vs ethanol 1/16 (one shared bit, 11 + 6 - 1 in the union)
    ref = np.vstack([fp("c1ccccc1"), fp("CCO")])
    assert nearest_neighbour_similarity(fp("Cc1ccccc1"), ref) == pytest.approx(3 / 11, abs=1e-7)
    own = np.vstack([fp(s) for s in ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1"]])
    assert nearest_neighbour_similarity(own, own) == pytest.approx(1.0, abs=1e-7)
    # two empty fingerprints count as identical (0/0 -> 1, as in MOSES)
    assert nearest_neighbour_similarity(packed(set()), packed(set(), {1})) == 1.0


def test_integer_and_float_pair_counts_agree() -> None:
    rng = np.random.default_rng(0)
    a = torch.from_numpy((rng.random((37, 1024)) < 0.05).astype(np.int8))
    b = torch.from_numpy((rng.random((53, 1024)) < 0.05).astype(np.int8))
    expected = a.float() @ b.float().T
    assert torch.equal(moses_similarity._intersections(a, b), expected)


# ------------------------------------------------------------------------ counting metrics
def test_unique_novelty_and_cosine_by_hand() -> None:
    assert fraction_valid(["CCO", "xyz", "", "C1CC", "c1ccccc1"]) == pytest.approx(2 / 5)
    assert fraction_unique(["CCO", "CCO", "CCO", "c1ccccc1"]) == 0.5
    assert fraction_unique(["CCO", "CCO", "CCO", "c1ccccc1"], k=2) == 0.5
    assert fraction_unique(["CCO", "c1ccccc1", "CCO"], k=2) == 1.0
    assert novelty(["CCO", "c1ccccc1", "CCN", "CCO"], ["CCO", "CCCC"]) == pytest.approx(2 / 3)
    assert cosine_similarity({"a": 2, "b": 3}, {"a": 2, "b": 3}) == pytest.approx(1.0)
    assert cosine_similarity({"a": 1, "b": 1}, {"a": 5}) == pytest.approx(1 / math.sqrt(2))
    assert cosine_similarity({"a": 1}, {"b": 1}) == 0.0
    assert math.isnan(cosine_similarity({}, {"a": 1}))


def test_describe_samples_validity_and_canonical_forms() -> None:
    feats = describe_molecules(["OCC", "xyz", "", "C1CC", "c1ccccc1", "C(C)O"])
    assert feats.valid.tolist() == [True, False, False, False, True, True]
    assert feats.smiles == ["CCO", "c1ccccc1", "CCO"]
    assert feats.fingerprints.shape == (3, 128)
    assert feats.passes_filters is not None and feats.passes_filters.tolist() == [True] * 3


def test_brics_fragments_and_scaffolds() -> None:
    ester = Chem.MolFromSmiles("CCOC(=O)c1ccccc1")
    # ester O (type 3), carbonyl C (types 1/6), ethyl (4), aromatic carbon (16)
    pieces = brics_fragments(ester)
    assert len(pieces) == 4
    assert set(pieces) == {"[16*]c1ccccc1", "[1*]C([6*])=O", "[3*]O[3*]", "[4*]CC"}
    # MOSES keeps scaffolds of two or more rings only
    assert moses_scaffold(ester) is None
    amide = Chem.MolFromSmiles("O=C(NCc1ccccc1)c1ccccc1")
    assert moses_scaffold(amide) == "O=C(NCc1ccccc1)c1ccccc1"
    assert moses_scaffold(Chem.MolFromSmiles("CCc1ccc(CC)cc1")) is None
    feats = describe_molecules(["O=C(NCc1ccccc1)c1ccccc1"] * 2 + ["CCOC(=O)c1ccccc1"])
    assert feats.scaffolds == {"O=C(NCc1ccccc1)c1ccccc1": 2}
    assert feats.fragments["[16*]c1ccccc1"] == 5 and feats.fragments["[5*]N[5*]"] == 2


def test_describe_in_parallel_equals_serial(
    moses_test_sample: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moses_features, "_CHUNK", 25)  # several chunks from few molecules
    items = moses_test_sample[:70] + ["bad"]
    serial = describe_molecules(items)
    parallel = describe_molecules(items, n_jobs=2)
    assert parallel.smiles == serial.smiles and np.array_equal(parallel.valid, serial.valid)
    assert np.array_equal(parallel.fingerprints, serial.fingerprints)
    assert parallel.fragments == serial.fragments and parallel.scaffolds == serial.scaffolds
    for name, values in serial.properties.items():
        assert np.array_equal(parallel.properties[name], values)


# ------------------------------------------------------------------------------- filters, SA
def test_filters_on_known_alerts() -> None:
    assert len(moses_filter_smarts()) == 22 + 480
    passing = ["CC(=O)Oc1ccccc1C(=O)O", "O=C1NC(=O)C(Cc2ccccc2)S1"]
    failing = {
        "S=C1SC(=Cc2ccccc2)C(=O)N1": "PAINS ene_rhod (benzylidene rhodanine)",
        "Oc1ccccc1O": "PAINS catechol",
        "C[N+](C)(C)C": "charged",
        "CCP": "phosphorus not allowed",
        "C1CCCCCCC1": "ring of 8 atoms",
    }
    assert all(passes_moses_filters(Chem.MolFromSmiles(s)) for s in passing)
    for smiles, why in failing.items():
        assert not passes_moses_filters(Chem.MolFromSmiles(smiles)), why
    assert not passes_moses_filters(None)


def test_sa_score_matches_published_values() -> None:
    # rows of RDKit's Contrib/SA_Score/data/zim.100.txt (reference scores to 3 decimals)
    published = {
        "Cc1c(C(=O)NCCO)[n+](=O)c2ccccc2n1[O-]": 3.166,
        "Cn1cc(NC=O)cc1C(=O)Nc1cc(C(=O)Nc2cc(C(=O)NCCC(N)=[NH2+])n(C)c2)n(C)c1": 3.328,
    }
    for smiles, value in published.items():
        assert sa_score(Chem.MolFromSmiles(smiles)) == pytest.approx(value, abs=5e-4)


@pytest.mark.parametrize("legacy", [True, False])
def test_chiral_center_count_matches_rdkit(legacy: bool) -> None:
    smiles = ["CCO", "C[C@H](F)C(F)(Cl)Br", "C1CC(C)C(C)C(C)C1", "C1C[C@H](C)C(C)[C@H](C)C1",
              "CC(N)C(=O)O", "OC1C(O)C(O)C(O)C(O)C1O", "C[C@@H]1CC[C@H](C)CC1",
              "CN1CCC23C4C1CC5=C2C(=C(C=C5)O)OC3C(C=C4)O", "c1ccccc1"]  # fmt: skip
    was = Chem.GetUseLegacyStereoPerception()
    Chem.SetUseLegacyStereoPerception(legacy)
    try:
        for s in smiles:
            want = len(Chem.FindMolChiralCenters(Chem.MolFromSmiles(s), includeUnassigned=True))
            assert n_chiral_centers(Chem.MolFromSmiles(s)) == want, s
    finally:
        Chem.SetUseLegacyStereoPerception(was)


def test_fragment_scores_refuse_code(tmp_path: Path) -> None:
    good = tmp_path / "ok.pkl.gz"
    good.write_bytes(gzip.compress(pickle.dumps([[1.5, 7, 9], [-2.0, 11]])))
    assert load_fragment_scores(str(good)) == {7: 1.5, 9: 1.5, 11: -2.0}
    hostile = tmp_path / "hostile.pkl.gz"
    hostile.write_bytes(gzip.compress(pickle.dumps([[1.0, 7], print])))  # a global reference
    with pytest.raises(InputError, match="refusing to load builtins.print"):
        load_fragment_scores(str(hostile))


# --------------------------------------------------------------------------------- ChemNet/FCD
def test_chemnet_tokens_follow_fcd_torch() -> None:
    idx = {s: i for i, s in enumerate(CHEMNET_VOCAB)}
    assert chemnet_tokens("CCl").tolist() == [idx["C"], idx["Cl"], idx["."]]
    assert chemnet_tokens("Brc1[nH]").tolist() == [
        idx[t] for t in ["Br", "c", "1", "[", "n", "H", "]", "."]
    ]
    assert chemnet_tokens("CC.O").tolist() == [idx["C"], idx["C"], idx["."]]  # cut at a '.'
    # '%' and '0' are outside ChemNet's alphabet
    assert chemnet_tokens("C%10").tolist() == [idx["C"], idx["X"], idx["1"], idx["X"], idx["."]]
    long = chemnet_tokens("C" * 500)
    assert len(long) == 350 and long[-1] == idx["."] and long[-2] == idx["C"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside the fcd package
def test_chemnet_equals_the_fcd_package() -> None:
    fcd_pkg = pytest.importorskip("fcd")
    smiles = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "Clc1ccc(Br)cc1", "CN1CCC[C@H]1c1cccnc1"]
    ours = chemnet_activations(smiles, canonicalize=False)
    theirs = fcd_pkg.get_predictions(fcd_pkg.load_ref_model(), smiles, n_jobs=0, device="cpu")
    assert ours.shape == (5, 512)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_chemnet_weights_load_as_data_only(tmp_path: Path) -> None:
    model = load_chemnet()
    assert model.lstm2.weight_hh_l0.shape == (2048, 512)
    module_file = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), module_file)  # a pickled module, not plain data
    with pytest.raises(InputError, match="cannot read ChemNet weights as plain data"):
        load_chemnet(str(module_file))
    state_file = tmp_path / "state.pt"
    torch.save([("Conv1d", ({"weight": torch.zeros(3)}, {}, {}))] * 4, state_file)
    with pytest.raises(InputError, match="layer 1 differs"):
        load_chemnet(str(state_file))


def test_frechet_distance_of_known_gaussians() -> None:
    # ||(1,1)||^2 + tr(I + 4I - 2 (4I)^(1/2)) = 2 + (2 + 8 - 8) = 4
    value = frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    assert value == pytest.approx(4.0, abs=1e-12)
    # diagonal covariances: sum of (sqrt(a) - sqrt(b))^2
    value = frechet_distance(np.zeros(3), np.diag([1.0, 4.0, 9.0]), np.zeros(3), np.eye(3))
    assert value == pytest.approx(0 + 1 + 4, abs=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside the fcd package
def test_fcd_of_a_set_with_itself_and_symmetry(moses_test_sample: list[str]) -> None:
    fcd_pkg = pytest.importorskip("fcd")
    a, b = moses_test_sample[:40], moses_test_sample[40:80]
    mu_a, s_a = chemnet_statistics(a)
    mu_b, s_b = chemnet_statistics(b)
    assert abs(frechet_distance(mu_a, s_a, mu_a, s_a)) < 1e-4
    ab, ba = frechet_distance(mu_a, s_a, mu_b, s_b), frechet_distance(mu_b, s_b, mu_a, s_a)
    assert ab > 1 and ab == pytest.approx(ba, rel=1e-6)
    # the same number as the fcd package's own formula on the same statistics
    theirs = fcd_pkg.utils.calculate_frechet_distance(mu_a, s_a, mu_b, s_b)
    assert ab == pytest.approx(theirs, rel=1e-5)
    # a repeated SMILES counts with its multiplicity
    mu_rep, s_rep = chemnet_statistics(a + a[:5])
    acts = chemnet_activations(a + a[:5]).astype(np.float64)
    np.testing.assert_allclose(mu_rep, acts.mean(0), atol=1e-9)
    np.testing.assert_allclose(s_rep, np.cov(acts, rowvar=False), atol=1e-9)


# ------------------------------------------------------------------------- all metrics, cache
def test_evaluate_moses_on_tiny_sets(moses_test_sample: list[str]) -> None:
    s = moses_test_sample
    test, scaf, train = s[:40], s[40:80], s[80:100]
    samples = s[80:110] + [s[80], "C1CC", "xyz"]
    ref = compute_reference(test, "test")
    result = evaluate_moses(samples, test=ref, test_scaffolds=scaf, train=train)
    m = result.metrics
    assert list(m)[:4] == ["valid", "unique@1000", "unique@10000", "FCD/Test"]
    assert m["valid"] == pytest.approx(31 / 33)
    assert m["unique@1000"] == pytest.approx(30 / 31)
    canonical = {Chem.MolToSmiles(Chem.MolFromSmiles(x)) for x in s[80:110]}
    assert m["Novelty"] == pytest.approx(len(canonical - set(train)) / len(canonical))
    assert 0 < m["SNN/Test"] < 1 and 0 < m["IntDiv"] < 1 and m["Filters"] == 1.0
    assert m["FCD/Test"] > 0 and all(m[p] >= 0 for p in ("logP", "SA", "QED", "weight"))
    assert result.n_samples == 33 and result.n_valid == 31
    assert any("unique@10000" in note for note in result.notes)
    # the test set scored against itself: FCD 0, SNN/Frag/Scaf 1, W1 distances 0
    own = evaluate_moses(test, test=ref, test_scaffolds=ref, train=train).metrics
    assert abs(own["FCD/Test"]) < 1e-4
    assert own["SNN/Test"] == pytest.approx(1.0) and own["Frag/Test"] == pytest.approx(1.0)
    assert own["Scaf/Test"] == pytest.approx(1.0) and own["logP"] == pytest.approx(0.0)


def test_reference_cache_round_trip(
    moses_test_sample: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = tmp_path / "test.csv.gz"
    pd.DataFrame({"SMILES": moses_test_sample[:30]}).to_csv(tiny, index=False)
    monkeypatch.setattr(moses_reference, "_split_path", lambda name: tiny)
    first = load_reference("test", cache_dir=tmp_path / "cache")
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 2 and files[0].endswith("-chemnet" + first.meta["chemnet_sha256_16"]
                                                 + ".npz")  # fmt: skip

    def no_recompute(*args: object, **kwargs: object) -> None:
        raise AssertionError("recomputed instead of reading the cache")

    monkeypatch.setattr(moses_reference, "describe_molecules", no_recompute)
    monkeypatch.setattr(moses_reference, "chemnet_statistics", no_recompute)
    second = load_reference("test", cache_dir=tmp_path / "cache")
    assert second.fragments == first.fragments and second.scaffolds == first.scaffolds
    assert np.array_equal(second.fingerprints, first.fingerprints)
    assert np.array_equal(second.fcd_sigma, first.fcd_sigma)
    with np.load(tmp_path / "cache" / files[1], allow_pickle=False) as data:
        assert data["fingerprints"].shape == (30, 128)


def test_invalid_reference_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "test.smi"
    bad.write_text("CCO\n\nc1ccccc1\nC1CC\n")
    assert main(["benchmark", "moses", "--samples", str(bad), "--test", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"drugforge: error: {bad}:4: invalid SMILES 'C1CC' in the test set"


# ------------------------------------------------------------------------------------ CLI
def test_cli_benchmark_moses_end_to_end(
    moses_test_sample: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = moses_test_sample
    for name, rows in (("test", s[:40]), ("scaf", s[40:80]), ("train", s[80:100])):
        (tmp_path / f"{name}.smi").write_text("SMILES\n" + "\n".join(rows) + "\n")
    # the columns drugforge generate writes; 'raw' is read, an empty string is a sample
    raw = s[80:110] + ["C1CC", ""]
    pd.DataFrame({"smiles": raw, "raw": raw}).to_csv(tmp_path / "gen.csv", index=False)
    out = tmp_path / "report.json"
    argv = ["benchmark", "moses", "--samples", str(tmp_path / "gen.csv"), "-n", "31",
            "--test", str(tmp_path / "test.smi"), "--test-scaffolds", str(tmp_path / "scaf.smi"),
            "--train", str(tmp_path / "train.smi"), "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "Unique@10k" in table and "MOSES Train" in table
    report = json.loads(out.read_text())
    assert report["n_samples"] == 31 and report["n_valid"] == 30  # -n 31 drops the empty string
    assert report["metrics"]["valid"] == pytest.approx(30 / 31)
    assert report["published_train"]["SNN/Test"] == 0.6419
    assert set(report["seconds"]) >= {"features", "chemnet", "FCD/Test", "SNN/TestSF", "IntDiv"}
    assert "| Valid |" in out.with_suffix(".md").read_text()
    assert main(argv) == 2  # the report exists: --force needed
    assert "output exists" in capsys.readouterr().err


def test_read_smiles_file_formats(tmp_path: Path) -> None:
    smi = tmp_path / "gen.smi"
    smi.write_text("SMILES\nCCO ethanol\n\nc1ccccc1 benzene\nC1CC\n")
    assert read_smiles_file(smi) == (["CCO", "c1ccccc1", "C1CC"], [2, 4, 5])
    tsv = tmp_path / "gen.tsv"
    pd.DataFrame({"SMILES": ["CCO", "", "xyz"], "score": [1, 2, 3]}).to_csv(tsv, sep="\t",
                                                                          index=False)  # fmt: skip
    assert read_smiles_file(tsv) == (["CCO", "", "xyz"], [2, 3, 4])
    bad = tmp_path / "gen.csv"
    pd.DataFrame({"molecule": ["CCO"]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="no 'raw' or 'smiles' column; columns: molecule"):
        read_smiles_file(bad)
