"""Gaussian processes with a Tanimoto kernel on fingerprints (``name='gp'``).

Regression: exact GP on standardized targets, prior ``f ~ GP(0, s * T)`` with Tanimoto kernel
``T`` and Gaussian noise ``n``. The two hyperparameters are fitted by maximizing the log marginal
likelihood (of at most 2000 molecules) with L-BFGS on ``(log s, log n)``; one eigendecomposition
``T = Q diag(lam) Q^T`` makes every evaluation O(n):

    -log p(y) = 1/2 sum_i z_i^2 / (s lam_i + n) + 1/2 sum_i log(s lam_i + n) + const,  z = Q^T y

Prediction uses the Cholesky factor ``L`` of ``s T + n I`` (recomputed on load from the stored
training fingerprints, so artifacts stay small):

    mean = s T(x, X) @ alpha,          alpha = (s T + n I)^-1 y
    var  = s + n - s^2 ||L^-1 T(X, x)||^2     (std of a new observation, noise included)

Classification (binary, 0/1): Laplace approximation with a logistic likelihood and a constant
prior mean at the logit of the class prior (Rasmussen & Williams, Algorithms 3.1/3.2); the signal
variance is chosen by the approximate marginal likelihood. ``predict`` returns P(class 1) from
the probit-averaged posterior; ``std`` is the posterior std of that probability (delta method).

Multi-task targets get one independent GP per task on its labelled rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize, minimize_scalar

from drugforge.molecules.featurize import Featurizer
from drugforge.molecules.models.base import (
    ModelState,
    MolecularPredictor,
    MolLike,
    TaskType,
)
from drugforge.molecules.models.kernels import (
    KERNEL_FEATURIZER,
    KERNEL_FEATURIZER_DEFAULTS,
    TaskArray,
    blas_threads,
    cached_reference,
    featurize_X,
    kernel_model_from_state,
    kernel_model_state,
    prepare_targets,
    resolve_featurizers,
    tanimoto_kernel,
)

__all__ = ["TanimotoGP"]

_FORMAT = 1
#: per-task arrays of the saved state: training rows, dual weights, class weights (classifier)
_TASK_ARRAYS: tuple[TaskArray, ...] = (
    ("rows", np.int64, True), ("alpha", np.float64, True), ("sqrt_w", np.float64, False)
)
#: Exact GP: the eigendecomposition takes minutes beyond ~10k molecules.
MAX_TRAIN_ROWS = 10_000
#: Hyperparameters are fitted on at most this many (fixed-seed random) training molecules.
HYPEROPT_MAX_ROWS = 2000
_LOG_S_BOUNDS = (np.log(1e-3), np.log(1e3))  # signal variance, in target variances
_LOG_N_BOUNDS = (np.log(1e-4), np.log(10.0))  # noise variance; the floor keeps K well posed
_PRED_BLOCK = 2048  # test rows per block when computing predictive variances


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


# ----------------------------------------------------------------------------- regression
def fit_gp_hyperparameters(
    T: np.ndarray, y: np.ndarray, s0: float = 1.0, n0: float = 0.1
) -> tuple[float, float, float]:
    """Maximize the marginal likelihood of ``y ~ N(0, s T + n I)`` over ``(s, n)``.

    Returns ``(s, n, negative log marginal likelihood)``.
    """
    lam, Q = sla.eigh(T)  # T = Q diag(lam) Q^T
    lam = np.clip(lam, 0.0, None)  # PSD up to rounding
    z2 = (Q.T @ y) ** 2
    const = 0.5 * len(y) * np.log(2.0 * np.pi)

    def nlml(w: np.ndarray) -> tuple[float, np.ndarray]:
        s, n = np.exp(w)
        d = s * lam + n  # eigenvalues of s T + n I
        val = 0.5 * np.sum(z2 / d) + 0.5 * np.sum(np.log(d)) + const
        g_d = 0.5 * (1.0 / d - z2 / d**2)  # d val / d d_i
        return float(val), np.array([np.sum(g_d * s * lam), np.sum(g_d * n)])

    w0 = np.log([s0, n0])
    w0 = np.clip(w0, [_LOG_S_BOUNDS[0], _LOG_N_BOUNDS[0]], [_LOG_S_BOUNDS[1], _LOG_N_BOUNDS[1]])
    res = minimize(nlml, w0, jac=True, method="L-BFGS-B", bounds=[_LOG_S_BOUNDS, _LOG_N_BOUNDS])
    s, n = np.exp(res.x)
    return float(s), float(n), float(res.fun)


def _regression_factor(T: np.ndarray, s: float, n: float) -> np.ndarray:
    """Lower Cholesky factor of ``s T + n I``."""
    A = s * T
    A[np.diag_indices_from(A)] += n
    return sla.cholesky(A, lower=True, check_finite=False)


# ------------------------------------------------------------------------- classification
def _laplace_mode(
    T: np.ndarray,
    y: np.ndarray,
    s: float,
    m: float,
    a0: np.ndarray | None = None,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Newton search for the posterior mode (R&W Algorithm 3.1) with prior mean ``m``.

    ``a0`` warm-starts the search (``latent - m = s T a``). Returns ``(a, grad, sqrt_w, L,
    approx log marginal likelihood)`` where ``grad = y - pi`` at the mode, ``sqrt_w =
    sqrt(pi (1 - pi))`` and ``L = chol(I + W^1/2 s T W^1/2)``.
    """
    K = s * T
    n = len(y)
    a = np.zeros(n) if a0 is None else a0.copy()
    g = K @ a  # latent minus prior mean
    prev = -0.5 * a @ g + np.sum(_log_sigmoid_lik(y, g + m)) if a0 is not None else -np.inf
    for _ in range(max_iter):
        pi = _sigmoid(g + m)
        w = pi * (1.0 - pi)
        sw = np.sqrt(w)
        B = np.eye(n) + sw[:, None] * K * sw[None, :]
        L = sla.cholesky(B, lower=True, check_finite=False)
        b = w * g + (y - pi)
        c = sla.cho_solve((L, True), sw * (K @ b), check_finite=False)
        a_new = b - sw * c
        # Newton can overshoot on near-separable data: halve the step until the objective rises.
        step = 1.0
        while True:
            a_try = a + step * (a_new - a)
            g_try = K @ a_try
            obj = -0.5 * a_try @ g_try + np.sum(_log_sigmoid_lik(y, g_try + m))
            if obj >= prev - 1e-10 or step < 1e-4:
                break
            step *= 0.5
        a, g = a_try, g_try
        if abs(obj - prev) < 1e-8 * max(1.0, abs(obj)):
            prev = obj
            break
        prev = obj
    pi = _sigmoid(g + m)
    w = pi * (1.0 - pi)
    sw = np.sqrt(w)
    L = _classification_factor(T, s, sw)
    log_ml = -0.5 * a @ g + np.sum(_log_sigmoid_lik(y, g + m)) - np.sum(np.log(np.diag(L)))
    return a, y - pi, sw, L, float(log_ml)


def _log_sigmoid_lik(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    """log p(y | f) for 0/1 labels under the logistic likelihood."""
    return -np.logaddexp(0.0, -(2.0 * y - 1.0) * f)


def _classification_factor(T: np.ndarray, s: float, sw: np.ndarray) -> np.ndarray:
    B = (s * sw[:, None]) * T * sw[None, :]
    B[np.diag_indices_from(B)] += 1.0
    return sla.cholesky(B, lower=True, check_finite=False)


class TanimotoGP(MolecularPredictor):
    """Exact Tanimoto-kernel GP: mean and std (regression) or Laplace GP classifier.

    Parameters
    ----------
    task
        ``'regression'`` or ``'classification'`` (binary 0/1 labels, Laplace approximation).
    featurizer, featurizer_params
        Registered featurizer name (or list, concatenated) and params; non-negative features.
        Default: count ECFP4 (4096 bits) next to count FCFP4
        (2048 bits); a featurizer named without params gets these kernel defaults (``'ecfp'``
        alone: count ECFP4, 4096 bits).
    signal_variance, noise_variance
        Hyperparameters in units of the target variance: the starting point of the marginal
        likelihood fit, or the values used when ``optimize=False``. Classification uses
        ``signal_variance`` only.
    optimize
        Fit the hyperparameters by maximizing the (approximate) marginal likelihood.
    n_jobs
        BLAS threads for the kernel algebra and processes for featurizing large inputs.
    """

    name: ClassVar[str] = "gp"
    native_uncertainty: ClassVar[bool] = True

    def __init__(
        self,
        task: TaskType = "regression",
        featurizer: str | Sequence[str] = KERNEL_FEATURIZER,
        featurizer_params: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
        signal_variance: float = 1.0,
        noise_variance: float = 0.1,
        optimize: bool = True,
        n_jobs: int = 1,
    ) -> None:
        self.task = task
        self.featurizer = featurizer
        self.featurizer_params = featurizer_params
        self.signal_variance = signal_variance
        self.noise_variance = noise_variance
        self.optimize = optimize
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------------------ fitting
    def _featurizers(self) -> list[Featurizer]:
        return resolve_featurizers(
            self.featurizer, self.featurizer_params, defaults=KERNEL_FEATURIZER_DEFAULTS
        )

    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Fit one GP per task; ``X_val``/``y_val`` are not needed (evidence-based fitting)."""
        if not (self.signal_variance > 0 and self.noise_variance > 0):
            raise ValueError("signal_variance and noise_variance must be > 0")
        feats = self._featurizers()
        F = featurize_X(feats, X, n_jobs=self.n_jobs)  # (n, d)
        Y = prepare_targets(y, self.task, n=F.shape[0])  # (n, t)
        if F.shape[0] > MAX_TRAIN_ROWS:
            raise ValueError(
                f"gp is an exact Gaussian process (O(n^3) time, O(n^2) memory); more than "
                f"{MAX_TRAIN_ROWS} training molecules need another model (svm, gbm, mlp)"
            )
        with blas_threads(self.n_jobs):
            tasks = self._fit_tasks(F, Y)
        used = np.flatnonzero((~np.isnan(Y)).any(axis=1))
        self.featurizers_ = feats
        self.train_features_ = F[used]  # (n_used, d)
        self.tasks_ = tasks
        self.n_tasks_ = Y.shape[1]
        self.n_features_ = F.shape[1]
        self._factors: list[np.ndarray | None] = [None] * self.n_tasks_
        return self

    def _fit_tasks(self, F: np.ndarray, Y: np.ndarray) -> list[dict[str, Any]]:
        T = tanimoto_kernel(F, F)  # (n, n)
        used = np.flatnonzero((~np.isnan(Y)).any(axis=1))
        tasks: list[dict[str, Any]] = []
        for j in range(Y.shape[1]):
            rows = np.flatnonzero(~np.isnan(Y[:, j]))
            Tj = T if len(rows) == len(T) else T[np.ix_(rows, rows)]  # no copy when complete
            fit = (
                self._fit_regression(Tj, Y[rows, j])
                if self.task == "regression"
                else (self._fit_classification(Tj, Y[rows, j]))
            )
            # The factor is rebuilt on demand (for std) exactly as after loading: fitted and
            # loaded models agree bit for bit, and multi-task fits do not hold t factors.
            del fit["L"]
            # rows are stored relative to the kept training rows
            fit["rows"] = np.searchsorted(used, rows).astype(np.int64)
            tasks.append(fit)
        return tasks

    def _fit_regression(self, T: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        mean = float(y.mean())
        scale = float(y.std())
        if scale == 0.0 or len(y) < 2:
            scale = 1.0
        ys = (y - mean) / scale
        s, n = float(self.signal_variance), float(self.noise_variance)
        nlml: float | None = None  # JSON-safe "not fitted"
        if self.optimize and len(y) >= 3:
            # Two scalars are well determined by a few thousand molecules; a fixed-seed subset
            # keeps the O(n^3) eigendecomposition small (test RMSE unchanged on MoleculeACE).
            sub = np.arange(len(y))
            if len(y) > HYPEROPT_MAX_ROWS:
                rng = np.random.default_rng(0)
                sub = np.sort(rng.choice(len(y), HYPEROPT_MAX_ROWS, replace=False))
            s, n, nlml = fit_gp_hyperparameters(T[np.ix_(sub, sub)], ys[sub], s0=s, n0=n)
        L = _regression_factor(T, s, n)
        alpha = sla.cho_solve((L, True), ys, check_finite=False)
        return {
            "kind": "regression",
            "signal_variance": s,
            "noise_variance": n,
            "y_mean": mean,
            "y_scale": scale,
            "neg_log_marginal_likelihood": nlml,
            "alpha": alpha,
            "L": L,
        }

    def _fit_classification(self, T: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        p = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        m = float(np.log(p / (1.0 - p)))  # prior mean: the logit of the class prior
        if y.min() == y.max():  # one class only: the prior is all there is
            return {
                "kind": "constant",
                "value": float(y.mean()),
                "alpha": np.zeros(len(y)),
                "sqrt_w": np.zeros(len(y)),
                "signal_variance": 0.0,
                "prior_mean": m,
                "L": None,
            }
        s = float(self.signal_variance)
        if self.optimize:
            warm: list[np.ndarray | None] = [None]  # the last mode: a good Newton start

            def neg_log_ml(log_s: float) -> float:
                a, *_, log_ml = _laplace_mode(T, y, float(np.exp(log_s)), m, a0=warm[0])
                warm[0] = a
                return -log_ml

            # s to ~10%: the evidence is flat near its optimum, finer steps change nothing
            res = minimize_scalar(
                neg_log_ml,
                bounds=(np.log(0.1), np.log(100.0)),
                method="bounded",
                options={"xatol": 0.1, "maxiter": 15},
            )
            s = float(np.exp(res.x))
        _, grad, sw, L, log_ml = _laplace_mode(T, y, s, m)
        return {
            "kind": "classification",
            "signal_variance": s,
            "prior_mean": m,
            "neg_log_marginal_likelihood": -log_ml,
            "alpha": grad,
            "sqrt_w": sw,
            "L": L,
        }

    # ---------------------------------------------------------------------------- predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "tasks_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def _factor(self, j: int) -> np.ndarray | None:
        """Cholesky factor of task ``j``, rebuilt from the training fingerprints if needed."""
        if getattr(self, "_factors", None) is None:
            self._factors = [None] * self.n_tasks_
        t = self.tasks_[j]
        if self._factors[j] is None and t["kind"] != "constant":
            Xj = np.asarray(self.train_features_, dtype=np.float32)[t["rows"]]
            T = tanimoto_kernel(Xj, Xj)
            if t["kind"] == "regression":
                self._factors[j] = _regression_factor(T, t["signal_variance"], t["noise_variance"])
            else:
                self._factors[j] = _classification_factor(T, t["signal_variance"], t["sqrt_w"])
        return self._factors[j]

    def predict_from_features(
        self, F: np.ndarray, return_std: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(mean, std)`` ``(n, t)`` from precomputed features (same featurizers as at fit)."""
        self._check_fitted()
        F = np.asarray(F, dtype=np.float32)
        if F.ndim != 2 or F.shape[1] != self.n_features_:
            raise ValueError(f"expected features of shape (n, {self.n_features_}), got {F.shape}")
        n = F.shape[0]
        mean = np.zeros((n, self.n_tasks_))
        std = np.zeros((n, self.n_tasks_)) if return_std else None
        if n == 0:
            return mean, std
        with blas_threads(self.n_jobs):
            self._predict_blocks(F, mean, std)
        return mean, std

    def _predict_blocks(self, F: np.ndarray, mean: np.ndarray, std: np.ndarray | None) -> None:
        """Fill ``mean`` (and ``std`` unless None) block by block of test rows."""
        return_std = std is not None
        n = F.shape[0]
        reference = cached_reference(self, self.train_features_)  # prepared once per model
        for start in range(0, n, _PRED_BLOCK):
            blk = slice(start, start + _PRED_BLOCK)
            Ks = reference.kernel(F[blk])  # (b, n_train)
            for j, t in enumerate(self.tasks_):
                mu, sd = self._predict_task(j, t, Ks[:, t["rows"]], return_std)
                mean[blk, j] = mu
                if std is not None and sd is not None:
                    std[blk, j] = sd

    def _predict_task(
        self, j: int, t: dict[str, Any], Ts: np.ndarray, return_std: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean and std for one task; ``Ts`` = Tanimoto(test, task rows), ``(b, n_j)``."""
        b = Ts.shape[0]
        if t["kind"] == "constant":
            return np.full(b, t["value"]), (np.zeros(b) if return_std else None)
        s = t["signal_variance"]
        if t["kind"] == "regression":
            mu = (s * Ts) @ t["alpha"]
            sd = None
            if return_std:
                L = self._factor(j)
                v = sla.solve_triangular(L, s * Ts.T, lower=True, check_finite=False)  # (n_j, b)
                var_f = np.clip(s - np.sum(v * v, axis=0), 0.0, None)
                sd = np.sqrt(var_f + t["noise_variance"]) * t["y_scale"]
            return mu * t["y_scale"] + t["y_mean"], sd
        # Laplace classification (R&W Algorithm 3.2) with the probit-averaged logistic.
        f_mean = t["prior_mean"] + (s * Ts) @ t["alpha"]
        L = self._factor(j)
        v = sla.solve_triangular(
            L, (t["sqrt_w"][:, None] * (s * Ts.T)), lower=True, check_finite=False
        )
        var_f = np.clip(s - np.sum(v * v, axis=0), 0.0, None)
        kappa = 1.0 / np.sqrt(1.0 + np.pi * var_f / 8.0)
        p = _sigmoid(kappa * f_mean)
        sd = p * (1.0 - p) * np.sqrt(var_f) if return_std else None
        return p, sd

    def input_featurizers(self) -> list[Featurizer]:
        """The fitted featurizers (the panel shares their output between models)."""
        self._check_fitted()
        return list(self.featurizers_)

    def predict_dist_features(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(mean, std)`` from precomputed features: :meth:`predict_from_features`."""
        return self.predict_from_features(F, return_std=True)

    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)``, each ``(n, t)``.

        Regression: predictive mean and std of a new measurement (noise included). Classification:
        P(class 1) and its posterior std.
        """
        self._check_fitted()
        F = featurize_X(self.featurizers_, X, n_jobs=self.n_jobs)
        mean, std = self.predict_from_features(F, return_std=True)
        assert std is not None
        return mean, std

    def predict(self, X: Sequence[MolLike]) -> np.ndarray:
        """Predictive means (or P(class 1)), ``(n, t)``; skips the variance computation."""
        self._check_fitted()
        F = featurize_X(self.featurizers_, X, n_jobs=self.n_jobs)
        return self.predict_from_features(F, return_std=False)[0]

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        self._check_fitted()
        return kernel_model_state(self, _FORMAT, ("train_features", self.train_features_),
                                  _TASK_ARRAYS)  # fmt: skip

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        model, matrix = kernel_model_from_state(cls, state, _FORMAT, "train_features", _TASK_ARRAYS)
        model.train_features_ = matrix
        model._factors = [None] * model.n_tasks_  # rebuilt lazily when a std is asked for
        return model
