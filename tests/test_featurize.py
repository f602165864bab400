"""Featurizers: exact values for aspirin, the registry contract, the batch wrapper."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.featurize import (
    ECFP,
    FEATURIZERS,
    Featurizer,
    RDKit2D,
    cache_info,
    clear_cache,
    featurize,
    featurize_many,
    get_featurizer,
    list_featurizers,
    scale_descriptors,
)
from drugforge.molecules.featurize import batch as batch_mod

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
DRUGS = [
    ASPIRIN,
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",  # ibuprofen
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # caffeine
    "CC(=O)Nc1ccc(O)cc1",  # paracetamol
    "CN1CCC[C@H]1c1cccnc1",  # nicotine
    "OC(=O)c1ccccc1O",  # salicylic acid
    "c1ccc2ccccc2c1",  # naphthalene
    "CCN(CC)CCOC(=O)c1ccc(N)cc1",  # procaine
    "O=C(O)CCc1ccccc1",
    "Clc1ccc(Cl)cc1",
]

# Computed once with RDKit's Morgan generator (radius 2, 2048 bits) and fixed here on purpose.
ASPIRIN_ECFP4_BITS = [
    389, 456, 650, 695, 807, 909, 1017, 1035, 1047, 1057, 1088, 1199,
    1380, 1410, 1447, 1468, 1616, 1729, 1750, 1775, 1873, 1917, 1970, 1991,
]  # fmt: skip
ASPIRIN_ECFP4_COUNTS_GT1 = {650: 2, 807: 3, 1088: 2, 1199: 2, 1380: 2, 1750: 2, 1873: 4, 1917: 2}
ASPIRIN_FCFP4_BITS = [
    0, 1, 2, 4, 32, 33, 321, 535, 598, 626, 809, 1001,
    1048, 1083, 1085, 1405, 1502, 1950, 1979, 1990, 2017, 2040,
]  # fmt: skip
ASPIRIN_ECFP2_1024_BITS = [
    11, 33, 64, 356, 389, 456, 650, 695, 705, 726, 807, 849, 893, 946, 967, 1017,
]  # fmt: skip
ASPIRIN_MACCS_BITS = [
    89, 113, 123, 126, 127, 136, 139, 140, 143, 144, 146,
    150, 152, 154, 157, 159, 160, 162, 163, 164, 165,
]  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


def one(name: str, smiles: str = ASPIRIN, **params: object) -> np.ndarray:
    return featurize(get_featurizer(name, **params), [smiles])[0]


# --------------------------------------------------------------------------- exact values
def test_ecfp4_aspirin_bits() -> None:
    x = one("ecfp")
    assert x.shape == (2048,) and x.dtype == np.float32
    assert np.flatnonzero(x).tolist() == ASPIRIN_ECFP4_BITS
    assert set(np.unique(x)) == {0.0, 1.0}


def test_ecfp4_aspirin_counts() -> None:
    x = one("ecfp", counts=True)
    assert np.flatnonzero(x).tolist() == ASPIRIN_ECFP4_BITS  # same bits, now with counts
    assert {int(i): int(x[i]) for i in np.flatnonzero(x > 1)} == ASPIRIN_ECFP4_COUNTS_GT1
    assert x.sum() == 35.0
    assert np.array_equal(one("ecfp_count"), x)


def test_fcfp_and_radius_size() -> None:
    assert np.flatnonzero(one("fcfp")).tolist() == ASPIRIN_FCFP4_BITS
    assert np.array_equal(one("ecfp", features=True), one("fcfp"))
    x = one("ecfp", radius=1, size=1024)
    assert x.shape == (1024,)
    assert np.flatnonzero(x).tolist() == ASPIRIN_ECFP2_1024_BITS


def test_maccs_aspirin() -> None:
    x = one("maccs")
    assert x.shape == (167,)
    assert int(x.sum()) == 21
    assert np.flatnonzero(x).tolist() == ASPIRIN_MACCS_BITS


def test_rdkit2d_aspirin_molwt_scaled() -> None:
    f = get_featurizer("rdkit2d")
    x = one("rdkit2d")
    names = f.feature_names()
    assert names == [n for n, _ in Descriptors._descList]  # RDKit's order, all of them
    assert len(names) == len(f) == x.shape[0]
    molwt = x[names.index("MolWt")]
    assert molwt == pytest.approx(np.sign(180.159) * np.log1p(180.159), abs=1e-5)
    assert x[names.index("NumHDonors")] == pytest.approx(np.log1p(1.0), abs=1e-6)
    assert np.isfinite(x).all() and np.abs(x).max() <= 30.0


def test_rdkit2d_fast_ipc_matches_rdkit() -> None:
    f = RDKit2D()
    names = f.feature_names()
    for smi in DRUGS:
        mol = Chem.MolFromSmiles(smi)
        raw = f.raw(mol)
        assert raw[names.index("Ipc")] == pytest.approx(Descriptors.Ipc(mol), rel=1e-9)
        assert raw[names.index("AvgIpc")] == pytest.approx(Descriptors.AvgIpc(mol), rel=1e-9)


def test_scale_descriptors() -> None:
    raw = np.array([np.nan, np.inf, -np.inf, 0.0, -5.0, 180.159, 1e300])
    out = scale_descriptors(raw)
    assert out.dtype == np.float32
    expected = [0.0, 0.0, 0.0, 0.0, -np.log1p(5.0), np.log1p(180.159), 30.0]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


# ------------------------------------------------------------------------------- registry
def test_registry_names() -> None:
    assert list_featurizers() == ["ecfp", "ecfp_count", "fcfp", "maccs", "rdkit2d"]
    assert all(issubclass(c, Featurizer) for c in FEATURIZERS.values())


def test_unknown_featurizer_lists_choices() -> None:
    with pytest.raises(ValueError) as err:
        get_featurizer("ecfp5")
    assert str(err.value) == (
        "unknown featurizer 'ecfp5' (did you mean 'ecfp'?); choose from: ecfp, ecfp_count, "
        "fcfp, maccs, rdkit2d"
    )


def test_bad_params() -> None:
    with pytest.raises(ValueError, match="bad parameters for featurizer 'maccs'"):
        get_featurizer("maccs", radius=2)
    with pytest.raises(ValueError, match="radius"):
        get_featurizer("ecfp", radius=-1)
    with pytest.raises(ValueError, match="size"):
        get_featurizer("ecfp", size=0)


@pytest.mark.parametrize("name", sorted(FEATURIZERS))
def test_params_round_trip_and_len(name: str) -> None:
    f = get_featurizer(name)
    params = json.loads(json.dumps(f.params()))  # JSON-safe
    g = get_featurizer(f.name, **params)
    assert g == f and g.params() == f.params() and type(g) is type(f)
    X = featurize(f, DRUGS[:4], cache=False)
    assert X.shape == (4, len(f)) and X.dtype == np.float32
    assert np.array_equal(X, featurize(g, DRUGS[:4], cache=False))
    assert len(f.feature_names()) == len(f)


def test_non_default_params_round_trip() -> None:
    f = get_featurizer("ecfp", radius=3, size=1024, counts=True, features=True)
    assert get_featurizer(f.name, **f.params()) == f
    assert f != get_featurizer("ecfp", radius=3, size=1024, counts=True)
    assert repr(f) == "ECFP(radius=3, size=1024, counts=True, features=True)"


# ----------------------------------------------------------------------------------- batch
def test_invalid_smiles_names_position() -> None:
    with pytest.raises(InvalidSmilesError) as err:
        featurize("ecfp", ["CCO", "c1ccccc1", "C1CC", "not a smiles"])
    assert str(err.value) == "invalid SMILES 'C1CC' at position 3"
    assert isinstance(err.value, ValueError)


def test_invalid_entries() -> None:
    with pytest.raises(InvalidSmilesError, match="position 2"):
        featurize("ecfp", ["CCO", ""])
    with pytest.raises(InvalidSmilesError, match="invalid entry None at position 1"):
        featurize("ecfp", [None, "C1CC"])  # type: ignore[list-item]
    # the first bad entry wins, whatever kind it is
    with pytest.raises(InvalidSmilesError, match="position 1"):
        featurize("ecfp", ["C1CC", None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        featurize("ecfp", "CCO")


def test_empty_input() -> None:
    X = featurize("maccs", [])
    assert X.shape == (0, 167) and X.dtype == np.float32


def test_mols_equal_smiles_and_duplicates() -> None:
    mols = [Chem.MolFromSmiles(s) for s in DRUGS]
    by_smiles = featurize("ecfp", DRUGS)
    assert np.array_equal(featurize("ecfp", mols, cache=False), by_smiles)
    dup = featurize("ecfp", [DRUGS[1], DRUGS[0], DRUGS[1]])
    assert np.array_equal(dup, by_smiles[[1, 0, 1]])


def test_cache_hit_identical() -> None:
    f = get_featurizer("rdkit2d")
    first = featurize(f, DRUGS)
    info = cache_info()
    assert info["entries"] == len(DRUGS) and info["hits"] == 0
    first_copy = first.copy()
    first[:] = -1.0  # mutating a result must not touch the cache
    second = featurize(get_featurizer("rdkit2d"), DRUGS)
    assert cache_info()["hits"] == len(DRUGS)
    assert np.array_equal(second, first_copy)
    assert np.array_equal(second, featurize(f, DRUGS, cache=False))


def test_cache_keyed_by_params() -> None:
    a = featurize(get_featurizer("ecfp", radius=2), [ASPIRIN])
    b = featurize(get_featurizer("ecfp", radius=3), [ASPIRIN])
    assert not np.array_equal(a, b)
    assert cache_info()["hits"] == 0


def test_cache_limit_evicts() -> None:
    try:
        batch_mod.set_cache_limit(4000)
        featurize("rdkit2d", DRUGS)  # ~900 bytes per dense row
        assert 0 < cache_info()["bytes"] <= 4000
        assert cache_info()["entries"] < len(DRUGS)
    finally:
        batch_mod.set_cache_limit(512 * 2**20)


def test_parallel_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_mod, "PARALLEL_MIN_ITEMS", 10)
    monkeypatch.setattr(batch_mod, "PARALLEL_MIN_SECONDS", 0.0)
    monkeypatch.setattr(batch_mod, "_PROBE", 3)
    calls: list[int] = []
    real = batch_mod._featurize_parallel

    def counting(featurizer: Featurizer, items: list[object], n_jobs: int) -> object:
        calls.append(len(items))
        return real(featurizer, items, n_jobs)

    monkeypatch.setattr(batch_mod, "_featurize_parallel", counting)
    smiles = DRUGS * 8  # 80 entries, 10 unique: dedup leaves 10 to compute
    unique = [f"{s}.C" for s in DRUGS] + DRUGS + [f"{s}.N" for s in DRUGS]  # 30 unique
    f = ECFP(counts=True)
    serial = featurize(f, unique, n_jobs=1, cache=False)
    parallel = featurize(f, unique, n_jobs=2, cache=False)
    assert np.array_equal(serial, parallel)
    assert calls == [27]  # 30 unique minus the 3 probed serially went to the workers
    assert np.array_equal(
        featurize(f, smiles, n_jobs=2, cache=False), serial[10:20][np.tile(np.arange(10), 8)]
    )
    with pytest.raises(InvalidSmilesError, match="position 25"):
        featurize(f, unique[:24] + ["C1CC"] + unique[24:], n_jobs=2, cache=False)


def test_featurize_many_concatenates() -> None:
    feats = [get_featurizer("maccs"), get_featurizer("ecfp", size=64)]
    X = featurize_many(feats, DRUGS[:3])
    assert X.shape == (3, 167 + 64)
    assert np.array_equal(X[:, :167], featurize("maccs", DRUGS[:3]))
