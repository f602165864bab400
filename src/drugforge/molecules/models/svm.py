"""Support vector machines with a Tanimoto kernel on fingerprints (``name='svm'``).

SVR with a Tanimoto kernel on ECFP is the strongest classical baseline on activity-cliff
benchmarks (MoleculeACE); here the kernel is MinMax on count ECFP4 + count FCFP4, which was more
accurate still in cross-validation. Training uses scikit-learn's libsvm on a precomputed
kernel; the fitted model is kept as plain arrays (support-vector fingerprints, dual coefficients,
intercepts, Platt parameters), so prediction and loading never need a pickled sklearn object:

    f(x) = sum_i dual_i * K(x, sv_i) + b            # (n, n_sv) @ (n_sv,)
    regression:      y = f(x) * y_scale + y_mean       (targets are standardized for fitting)
    classification:  P(1 | x) = 1 / (1 + exp(A * f(x) + B))   (Platt scaling, fitted by CV)

Multi-task targets get one SVM per task, fitted on the rows where that task is labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Self

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC, SVR

from drugforge.core.evaluation.probability import fit_platt
from drugforge.core.evaluation.probability import platt as _platt
from drugforge.molecules.featurize import Featurizer
from drugforge.molecules.models.base import (
    ModelState,
    MolecularPredictor,
    MolLike,
    TaskType,
)
from drugforge.molecules.models.kernels import (
    DEFAULT_FINGERPRINT,
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

__all__ = ["DEFAULT_FINGERPRINT", "TanimotoSVM", "fit_platt"]

_FORMAT = 1
#: per-task arrays of the saved state: support vectors (rows of support_features_), dual coefs
_TASK_ARRAYS: tuple[TaskArray, ...] = (
    ("support_index", np.int64, True), ("dual", np.float64, True)
)
#: Above this the n x n float64 kernel (5 GB at 25k) no longer fits comfortably in memory.
MAX_TRAIN_ROWS = 25_000


class TanimotoSVM(MolecularPredictor):
    """Tanimoto-kernel SVR (regression) / SVC with Platt probabilities (classification).

    Parameters
    ----------
    task
        ``'regression'`` or ``'classification'`` (0/1 labels).
    featurizer, featurizer_params
        Registered featurizer name (or list of names, concatenated) and its params. Features must
        be non-negative (fingerprints). Default: count ECFP4 (4096 bits) next to count FCFP4
        (2048 bits); a featurizer named without params gets these kernel defaults (``'ecfp'``
        alone: count ECFP4, 4096 bits).
    C
        SVM regularization (larger = less regularized). Targets are standardized, so the same C
        suits any unit.
    epsilon
        Width of the SVR insensitive tube, in standard deviations of the target.
    kernel
        ``'tanimoto'`` (MinMax on counts, Jaccard on bits) - the only kernel offered.
    class_weight
        Passed to :class:`sklearn.svm.SVC` (``None`` or ``'balanced'``).
    random_state
        Seed of the internal 5-fold cross-validation that fits the Platt scaling.
    n_jobs
        BLAS threads for the kernel algebra and processes for featurizing large inputs.
    """

    name: ClassVar[str] = "svm"
    native_uncertainty: ClassVar[bool] = False

    def __init__(
        self,
        task: TaskType = "regression",
        featurizer: str | Sequence[str] = KERNEL_FEATURIZER,
        featurizer_params: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
        C: float = 5.0,
        epsilon: float = 0.02,
        kernel: Literal["tanimoto"] = "tanimoto",
        class_weight: Literal["balanced"] | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.task = task
        self.featurizer = featurizer
        self.featurizer_params = featurizer_params
        self.C = C
        self.epsilon = epsilon
        self.kernel = kernel
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------------------ fitting
    def _featurizers(self) -> list[Featurizer]:
        return resolve_featurizers(
            self.featurizer, self.featurizer_params, defaults=KERNEL_FEATURIZER_DEFAULTS
        )

    def _check_params(self) -> None:
        if self.kernel != "tanimoto":
            raise ValueError(f"unknown kernel {self.kernel!r}; choose from: tanimoto")
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C!r}")
        if not self.epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon!r}")

    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Fit one SVM per task; ``X_val``/``y_val`` are not needed (no early stopping)."""
        self._check_params()
        feats = self._featurizers()
        F = featurize_X(feats, X, n_jobs=self.n_jobs)  # (n, d)
        Y = prepare_targets(y, self.task, n=F.shape[0])  # (n, t)
        if F.shape[0] > MAX_TRAIN_ROWS:
            raise ValueError(
                f"svm keeps a dense {F.shape[0]} x {F.shape[0]} kernel matrix; more than "
                f"{MAX_TRAIN_ROWS} training molecules need another model (gbm, mlp, mpnn)"
            )
        tasks: list[dict[str, Any]] = []
        support_rows: list[np.ndarray] = []
        with blas_threads(self.n_jobs):
            K = tanimoto_kernel(F, F)  # (n, n)
            for j in range(Y.shape[1]):
                rows = np.flatnonzero(~np.isnan(Y[:, j]))
                Kj = K if len(rows) == len(K) else K[np.ix_(rows, rows)]  # no copy if complete
                fitted = self._fit_task(Kj, Y[rows, j])
                support_rows.append(rows[fitted.pop("support")])
                tasks.append(fitted)
        del K

        # One shared table of support-vector fingerprints for all tasks.
        union = np.unique(np.concatenate(support_rows)) if support_rows else np.array([], int)
        position = {int(r): i for i, r in enumerate(union)}
        for t, rows in zip(tasks, support_rows, strict=True):
            t["support_index"] = np.array([position[int(r)] for r in rows], dtype=np.int64)

        self.featurizers_ = feats
        self.support_features_ = F[union]  # (n_sv_union, d)
        self.tasks_ = tasks
        self.n_tasks_ = Y.shape[1]
        self.n_features_ = F.shape[1]
        return self

    def _fit_task(self, K: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Fit one task on its kernel block; returns its arrays and 'support' (local rows)."""
        empty = np.array([], dtype=np.int64)
        if self.task == "regression":
            mean = float(y.mean())
            scale = float(y.std())
            if len(y) < 2 or scale == 0.0:
                return {"kind": "constant", "value": mean, "support": empty, "dual": np.zeros(0)}
            svr = SVR(kernel="precomputed", C=float(self.C), epsilon=float(self.epsilon))
            svr.fit(K, (y - mean) / scale)
            return {
                "kind": "svr",
                "support": svr.support_.astype(np.int64),
                "dual": svr.dual_coef_[0].astype(np.float64),
                "intercept": float(svr.intercept_[0]),
                "y_mean": mean,
                "y_scale": scale,
            }
        counts = np.bincount(y.astype(np.int64), minlength=2)
        # Platt scaling needs a few examples of each class in every internal CV fold.
        if counts.min() < 3:
            return {
                "kind": "constant",
                "value": float(y.mean()),
                "support": empty,
                "dual": np.zeros(0),
            }
        y_int = y.astype(np.int64)
        # Platt scaling on out-of-fold decision values, so the calibration is not fitted on
        # the (overconfident) training-set margins.
        oof = np.zeros(len(y))
        n_splits = int(min(5, counts.min()))
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        for tr, va in cv.split(np.zeros(len(y)), y_int):
            svc = self._svc().fit(K[np.ix_(tr, tr)], y_int[tr])
            oof[va] = svc.decision_function(K[np.ix_(va, tr)])
        a, b = fit_platt(oof, y_int)
        svc = self._svc().fit(K, y_int)
        # For binary problems sklearn's dual_coef_/intercept_ give a decision value that is
        # positive for class 1 (decision_function == K @ dual + b).
        return {
            "kind": "svc",
            "support": svc.support_.astype(np.int64),
            "dual": svc.dual_coef_[0].astype(np.float64),
            "intercept": float(svc.intercept_[0]),
            "platt_a": a,
            "platt_b": b,
        }

    def _svc(self) -> SVC:
        return SVC(kernel="precomputed", C=float(self.C), class_weight=self.class_weight)

    # ---------------------------------------------------------------------------- predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "tasks_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def decision_function(self, X: Sequence[MolLike]) -> np.ndarray:
        """Raw SVM outputs ``K(X, SV) @ dual + b``, ``(n, t)`` (standardized for regression)."""
        self._check_fitted()
        F = featurize_X(self.featurizers_, X, n_jobs=self.n_jobs)
        return self._decision_from_features(F)

    def _decision_from_features(self, F: np.ndarray) -> np.ndarray:
        n = F.shape[0]
        out = np.zeros((n, self.n_tasks_), dtype=np.float64)
        if n == 0:
            return out
        sv = self.support_features_
        with blas_threads(self.n_jobs):
            # (n, n_sv_union); the support vectors' side of the kernel is prepared once
            Ksv = cached_reference(self, sv).kernel(F) if len(sv) else np.zeros((n, 0))
            for j, t in enumerate(self.tasks_):
                if t["kind"] != "constant":
                    out[:, j] = Ksv[:, t["support_index"]] @ t["dual"] + t["intercept"]
        return out

    def predict_from_features(self, F: np.ndarray) -> np.ndarray:
        """Predictions ``(n, t)`` from precomputed features (same featurizers as at fit)."""
        self._check_fitted()
        F = np.asarray(F, dtype=np.float32)
        if F.ndim != 2 or F.shape[1] != self.n_features_:
            raise ValueError(f"expected features of shape (n, {self.n_features_}), got {F.shape}")
        dec = self._decision_from_features(F)
        out = np.empty_like(dec)
        for j, t in enumerate(self.tasks_):
            if t["kind"] == "constant":
                out[:, j] = t["value"]
            elif t["kind"] == "svr":
                out[:, j] = dec[:, j] * t["y_scale"] + t["y_mean"]
            else:
                out[:, j] = _platt(dec[:, j], t["platt_a"], t["platt_b"])
        return out

    def input_featurizers(self) -> list[Featurizer]:
        """The fitted featurizers (the panel shares their output between models)."""
        self._check_fitted()
        return list(self.featurizers_)

    def predict_dist_features(self, F: np.ndarray) -> tuple[np.ndarray, None]:
        """``(predictions, None)`` from precomputed features: :meth:`predict_from_features`."""
        return self.predict_from_features(F), None

    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, None]:
        """``(mean, None)``: values or P(class 1), ``(n, t)``; SVMs give no native spread."""
        self._check_fitted()
        F = featurize_X(self.featurizers_, X, n_jobs=self.n_jobs)
        return self.predict_from_features(F), None

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        self._check_fitted()
        return kernel_model_state(self, _FORMAT, ("support_features", self.support_features_),
                                  _TASK_ARRAYS)  # fmt: skip

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        model, matrix = kernel_model_from_state(cls, state, _FORMAT, "support_features", _TASK_ARRAYS)
        model.support_features_ = matrix
        return model
