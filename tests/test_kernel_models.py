"""Tanimoto kernels and the kernel/tree models (svm, gp, gbm)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors
from safetensors.numpy import load, save
from sklearn.base import clone
from sklearn.svm import SVC, SVR

from drugforge.molecules.featurize import featurize, featurize_many, get_featurizer
from drugforge.molecules.models.base import ModelState, MolecularPredictor
from drugforge.molecules.models.gbm import GBMModel
from drugforge.molecules.models.gp import TanimotoGP, fit_gp_hyperparameters
from drugforge.molecules.models.kernels import (
    TanimotoReference,
    compact_features,
    tanimoto_binary,
    tanimoto_kernel,
    tanimoto_minmax,
)
from drugforge.molecules.models.svm import TanimotoSVM, fit_platt

SMILES = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(=O)Nc1ccc(O)cc1",
    "CN1CCC[C@H]1c1cccnc1",
    "OC(=O)c1ccccc1O",
    "c1ccc2ccccc2c1",
    "CCN(CC)CCOC(=O)c1ccc(N)cc1",
    "O=C(O)CCc1ccccc1",
    "Clc1ccc(Cl)cc1",
    "CCOC(=O)c1ccc(N)cc1",
    "COc1ccc2[nH]cc(CCN(C)C)c2c1",
    "CN(C)CCCN1c2ccccc2CCc2ccccc21",
    "O=C1CN=C(c2ccccc2)c2cc(Cl)ccc2N1",
    "CC12CCC3c4ccc(O)cc4CCC3C1CCC2O",
    "NC(=O)c1cccnc1",
    "CC(C)NCC(O)COc1cccc2ccccc12",
    "Cc1ccccc1NC(=O)C(C)N1CCCC1",
    "OCC1OC(O)C(O)C(O)C1O",
    "CCCCCCCCCC(=O)O",
    "Fc1ccc(cc1)C(=O)CCCN1CCC(O)(CC1)c1ccc(Cl)cc1",
    "COc1cc(C=CC(=O)O)ccc1O",
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",
    "c1ccc(cc1)-c1ccccc1",
]
# a real, deterministic property of real molecules: Crippen logP
LOGP = np.array([rdMolDescriptors.CalcCrippenDescriptors(Chem.MolFromSmiles(s))[0] for s in SMILES])
LABELS = (LOGP > np.median(LOGP)).astype(float)

MODELS: dict[str, type[MolecularPredictor]] = {
    "svm": TanimotoSVM,
    "gp": TanimotoGP,
    "gbm": GBMModel,
}
FAST: dict[str, dict[str, Any]] = {  # small settings so tests take seconds
    "svm": {},
    "gp": {},
    "gbm": {
        "n_estimators": 60,
        "featurizer": "ecfp",
        "featurizer_params": {"size": 512},
        "min_child_samples": 2,
    },
}


def make(name: str, **params: Any) -> MolecularPredictor:
    return MODELS[name](**{**FAST[name], **params})


def brute_minmax(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    A, B = A.astype(np.float64), B.astype(np.float64)
    num = np.minimum(A[:, None], B[None]).sum(-1)
    den = np.maximum(A[:, None], B[None]).sum(-1)
    return np.where(den > 0, num / np.where(den > 0, den, 1), 1.0)


def through_storage(state: ModelState) -> ModelState:
    """What the artifact layer does: arrays through safetensors, meta through JSON."""
    arrays = load(save(state.arrays)) if state.arrays else {}
    return ModelState(arrays=arrays, meta=json.loads(json.dumps(state.meta)))


# --------------------------------------------------------------------------------- kernels
@pytest.fixture(scope="module")
def counts() -> np.ndarray:
    return featurize(get_featurizer("ecfp", counts=True, size=256), SMILES)


def test_tanimoto_binary_matches_bruteforce(counts: np.ndarray) -> None:
    bits = (counts > 0).astype(np.float32)
    K = tanimoto_binary(bits[:10], bits)
    np.testing.assert_allclose(K, brute_minmax(bits[:10], bits), rtol=0, atol=1e-12)
    assert K.dtype == np.float64 and K.shape == (10, len(SMILES))
    np.testing.assert_allclose(np.diag(tanimoto_binary(bits, bits)), 1.0)
    # aspirin vs salicylic acid on these bits, by hand
    a, b = bits[0] > 0, bits[5] > 0
    assert K[0, 5] == pytest.approx((a & b).sum() / (a | b).sum())


def test_tanimoto_minmax_counts(counts: np.ndarray) -> None:
    K = tanimoto_minmax(counts, counts[:7])
    np.testing.assert_allclose(K, brute_minmax(counts, counts[:7]), rtol=0, atol=1e-12)
    assert np.array_equal(tanimoto_kernel(counts, counts[:7]), K)  # auto picks MinMax
    # on 0/1 data MinMax is the binary Tanimoto
    bits = (counts > 0).astype(np.float32)
    np.testing.assert_allclose(tanimoto_minmax(bits, bits), tanimoto_binary(bits, bits))


def test_tanimoto_minmax_real_valued_and_errors() -> None:
    rng = np.random.default_rng(0)
    A = rng.random((6, 9)).astype(np.float32)
    B = rng.random((4, 9)).astype(np.float32)
    np.testing.assert_allclose(tanimoto_minmax(A, B), brute_minmax(A, B), atol=1e-6)
    with pytest.raises(ValueError, match="non-negative"):
        tanimoto_minmax(A - 0.5, B)
    with pytest.raises(ValueError, match="feature dimensions"):
        tanimoto_kernel(A, B[:, :3])
    with pytest.raises(ValueError, match="choose from"):
        tanimoto_kernel(A, B, kind="rbf")  # type: ignore[arg-type]


def test_tanimoto_zero_rows() -> None:
    Z = np.zeros((2, 5), np.float32)
    X = np.eye(5, dtype=np.float32)[:2]
    np.testing.assert_array_equal(tanimoto_kernel(Z, Z), np.ones((2, 2)))
    np.testing.assert_array_equal(tanimoto_kernel(Z, X), np.zeros((2, 2)))


def test_reference_equals_the_kernel_exactly(counts: np.ndarray) -> None:
    """The prepared right-hand side gives the very same numbers, on every input kind."""
    bits = (counts > 0).astype(np.float32)
    high = counts.copy()
    high[0, :] = 40.0  # above anything the reference rows reach
    rng = np.random.default_rng(1)
    real = rng.random((5, counts.shape[1])).astype(np.float32)
    zeros = np.zeros((2, counts.shape[1]), np.float32)
    for A, B in [(counts, counts[:7]), (bits, bits[3:]), (bits, counts), (counts, bits),
                 (high, counts), (real, counts), (counts, real), (zeros, counts),
                 (counts, zeros), (counts[:0], counts)]:  # fmt: skip
        reference = TanimotoReference(B)
        for kind in ("auto", "minmax", "binary"):
            assert np.array_equal(reference.kernel(A, kind), tanimoto_kernel(A, B, kind)), kind
    with pytest.raises(ValueError, match="non-negative"):
        TanimotoReference(counts).kernel(real - 0.5)
    with pytest.raises(ValueError, match="feature dimensions"):
        TanimotoReference(counts).kernel(counts[:, :5])


def test_tanimoto_is_psd(counts: np.ndarray) -> None:
    assert np.linalg.eigvalsh(tanimoto_kernel(counts, counts)).min() > -1e-9


def test_compact_features() -> None:
    assert compact_features(np.array([[0, 3]], np.float32)).dtype == np.uint8
    assert compact_features(np.array([[0, 300]], np.float32)).dtype == np.uint16
    assert compact_features(np.array([[0, 0.5]], np.float32)).dtype == np.float32


# ------------------------------------------------------------------------- model contract
@pytest.mark.parametrize("name", sorted(MODELS))
def test_regression_shapes_and_round_trip(name: str) -> None:
    model = make(name).fit(SMILES[:20], LOGP[:20])
    assert model.fit(SMILES[:20], LOGP[:20]) is model
    mean, std = model.predict_dist(SMILES[20:])
    assert mean.shape == (4, 1) and np.isfinite(mean).all()
    if model.native_uncertainty:
        assert std is not None and std.shape == (4, 1) and (std > 0).all()
    else:
        assert std is None
    assert model.predict(SMILES[20:]).shape == (4, 1)
    loaded = type(model).from_state(through_storage(model.get_state()))
    np.testing.assert_array_equal(loaded.predict(SMILES), model.predict(SMILES))
    m2, s2 = loaded.predict_dist(SMILES)
    m1, s1 = model.predict_dist(SMILES)
    np.testing.assert_array_equal(m2, m1)
    if s1 is not None:
        assert s2 is not None
        np.testing.assert_allclose(s2, s1, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_classification(name: str) -> None:
    model = make(name, task="classification").fit(SMILES, LABELS)
    p = model.predict(SMILES)
    assert p.shape == (len(SMILES), 1) and ((p >= 0) & (p <= 1)).all()
    # better than chance on its own training data
    assert (p[LABELS == 1].mean() - p[LABELS == 0].mean()) > 0.1
    proba = model.predict_proba(SMILES[:3])
    assert proba.shape == (3, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    loaded = type(model).from_state(through_storage(model.get_state()))
    np.testing.assert_array_equal(loaded.predict(SMILES), p)
    with pytest.raises(ValueError, match="0/1"):
        make(name, task="classification").fit(SMILES, LOGP)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_multitask_with_missing_labels(name: str) -> None:
    Y = np.column_stack([LOGP, -2.0 * LOGP + 1.0])
    Y[::3, 0] = np.nan
    Y[1::4, 1] = np.nan
    model = make(name).fit(SMILES, Y)
    pred = model.predict(SMILES)
    assert pred.shape == (len(SMILES), 2) and np.isfinite(pred).all()
    assert model.n_tasks == 2
    # each task is learned from its own rows: the second is anti-correlated with the first
    assert np.corrcoef(pred[:, 0], pred[:, 1])[0, 1] < -0.5
    loaded = type(model).from_state(through_storage(model.get_state()))
    np.testing.assert_array_equal(loaded.predict(SMILES), pred)
    with pytest.raises(ValueError, match="no labels"):
        make(name).fit(SMILES, np.column_stack([LOGP, np.full(len(LOGP), np.nan)]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_single_class_task_is_constant(name: str) -> None:
    Y = np.column_stack([LABELS, np.ones(len(LABELS))])
    model = make(name, task="classification").fit(SMILES, Y)
    np.testing.assert_allclose(model.predict(SMILES)[:, 1], 1.0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sklearn_params_and_clone(name: str) -> None:
    model = make(name, random_state=3) if name != "gp" else make(name, noise_variance=0.2)
    params = model.get_params()
    twin = clone(model)
    assert twin.get_params() == params and twin is not model
    twin.set_params(task="classification")
    assert twin.task == "classification" and model.task == "regression"
    assert not hasattr(twin, "n_tasks_")
    with pytest.raises(RuntimeError, match="not fitted"):
        twin.predict(SMILES[:2])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_state_rejects_other_models(name: str) -> None:
    other = "svm" if name != "svm" else "gp"
    state = make(other).fit(SMILES[:10], LOGP[:10]).get_state()
    with pytest.raises(ValueError, match="not a"):
        MODELS[name].from_state(state)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("svm", {"C": 100.0, "epsilon": 0.01}),
        ("gp", {"optimize": False, "noise_variance": 1e-4}),
        (
            "gbm",
            {
                "n_estimators": 300,
                "min_child_samples": 1,
                "learning_rate": 0.1,
                "subsample": 1.0,
                "colsample_bytree": 1.0,
            },
        ),
    ],
)
def test_can_fit_real_molecules(name: str, params: dict[str, Any]) -> None:
    """Flexible settings must fit 20 real molecules almost exactly."""
    X, y = SMILES[:20], LOGP[:20]
    pred = make(name, **params).fit(X, y).predict(X)[:, 0]
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    assert rmse < 0.1 * y.std()


# ----------------------------------------------------------------------------- svm details
def test_svm_manual_prediction_equals_sklearn() -> None:
    model = TanimotoSVM(C=3.0, epsilon=0.05).fit(SMILES[:20], LOGP[:20])
    F = featurize_many(model.featurizers_, SMILES[:20])
    Ft = featurize_many(model.featurizers_, SMILES[20:])
    mu, sd = LOGP[:20].mean(), LOGP[:20].std()
    ref = SVR(kernel="precomputed", C=3.0, epsilon=0.05).fit(
        tanimoto_kernel(F, F), (LOGP[:20] - mu) / sd
    )
    expected = ref.predict(tanimoto_kernel(Ft, F)) * sd + mu
    np.testing.assert_allclose(model.predict(SMILES[20:])[:, 0], expected, rtol=1e-10)
    # the saved state holds only the support vectors
    state = model.get_state()
    assert state.arrays["support_features"].shape[0] == len(ref.support_)
    assert state.arrays["support_features"].dtype == np.uint8


def test_svm_classifier_decision_equals_sklearn() -> None:
    model = TanimotoSVM(task="classification", C=2.0).fit(SMILES, LABELS)
    F = featurize_many(model.featurizers_, SMILES)
    ref = SVC(kernel="precomputed", C=2.0).fit(tanimoto_kernel(F, F), LABELS.astype(int))
    np.testing.assert_allclose(
        model.decision_function(SMILES)[:, 0],
        ref.decision_function(tanimoto_kernel(F, F)),
        rtol=1e-9,
        atol=1e-12,
    )
    a = model.tasks_[0]["platt_a"]
    assert a < 0  # P(1) increases with the decision value


def test_fit_platt_recovers_sigmoid() -> None:
    rng = np.random.default_rng(0)
    f = rng.normal(size=4000)
    y = (rng.random(4000) < 1.0 / (1.0 + np.exp(-2.0 * f + 0.5))).astype(int)
    a, b = fit_platt(f, y)
    assert a == pytest.approx(-2.0, abs=0.2) and b == pytest.approx(0.5, abs=0.15)


def test_svm_rejects_signed_features() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        TanimotoSVM(featurizer="rdkit2d").fit(SMILES[:10], LOGP[:10])
    with pytest.raises(ValueError, match="kernel"):
        TanimotoSVM(kernel="rbf").fit(SMILES[:10], LOGP[:10])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ gp details
def test_gp_hyperparameters_maximize_evidence() -> None:
    # every molecule measured twice with noise: the evidence must put the noise above its floor
    F = featurize(get_featurizer("ecfp", counts=True), SMILES * 2)
    T = tanimoto_kernel(F, F)
    y = np.tile(LOGP, 2) + np.random.default_rng(0).normal(scale=0.5, size=2 * len(LOGP))
    y = (y - y.mean()) / y.std()

    def nlml(s: float, n: float) -> float:
        K = s * T + n * np.eye(len(y))
        L = np.linalg.cholesky(K)
        a = np.linalg.solve(K, y)
        return 0.5 * y @ a + np.log(np.diag(L)).sum() + 0.5 * len(y) * np.log(2 * np.pi)

    s, n, best = fit_gp_hyperparameters(T, y)
    assert 1e-3 < n < 10.0 and 1e-2 < s < 1e2  # an interior optimum
    assert best == pytest.approx(nlml(s, n), rel=1e-8)
    for ds, dn in [(1.3, 1.0), (0.7, 1.0), (1.0, 1.3), (1.0, 0.7)]:
        assert nlml(s * ds, n * dn) >= best - 1e-9


def test_gp_std_grows_away_from_data() -> None:
    model = TanimotoGP().fit(SMILES[:20], LOGP[:20])
    _, std_train = model.predict_dist(SMILES[:20])
    _, std_far = model.predict_dist(["CCCCCCCCCCCCCCCCCCCC", "[Na+].[Cl-]"])
    assert std_far.min() > std_train.max()


# ----------------------------------------------------------------------------- gbm details
def test_gbm_early_stopping_and_determinism() -> None:
    params = {"n_estimators": 400, "learning_rate": 0.3}
    a = make("gbm", **params).fit(SMILES[:16], LOGP[:16], X_val=SMILES[16:], y_val=LOGP[16:])
    assert a.boosters_[0].num_trees() < 400
    b = make("gbm", **params).fit(SMILES[:16], LOGP[:16], X_val=SMILES[16:], y_val=LOGP[16:])
    np.testing.assert_array_equal(a.predict(SMILES), b.predict(SMILES))


def test_gbm_default_uses_descriptors() -> None:
    model = GBMModel(n_estimators=20).fit(SMILES[:12], LOGP[:12])
    names = model.feature_names()
    assert len(names) == 2048 + len(get_featurizer("rdkit2d")) and "MolWt" in names
    meta = json.loads(json.dumps(model.get_state().meta))
    assert GBMModel.from_state(ModelState(meta=meta)).predict(SMILES[:3]).shape == (3, 1)


def test_kernel_models_default_features() -> None:
    for cls in (TanimotoSVM, TanimotoGP):
        model = cls().fit(SMILES[:8], LOGP[:8])
        assert [(f.name, len(f)) for f in model.featurizers_] == [("ecfp", 4096), ("fcfp", 2048)]
        assert model.featurizers_[0].params()["counts"] is True
        single = cls(featurizer="ecfp").fit(SMILES[:8], LOGP[:8])
        assert [f.params() for f in single.featurizers_] == [
            {"radius": 2, "size": 4096, "counts": True, "features": False}
        ]
