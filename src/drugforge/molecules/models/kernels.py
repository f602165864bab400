"""Tanimoto kernels on fingerprints, and the small helpers the fingerprint models share.

Kernels
-------
For non-negative vectors ``a``, ``b`` the Tanimoto (MinMax) similarity is
``sum(min(a, b)) / sum(max(a, b))``; for 0/1 vectors this is the Jaccard index
``a.b / (|a| + |b| - a.b)``. Both are positive semi-definite, so they serve SVMs and GPs.

Everything is computed with matrix products in float32 row blocks (exact for fingerprints: the
products are sums of small integers), returning float64:

- binary: one product ``A @ B.T``;
- integer counts: ``sum(min(a, b)) = sum_t [a >= t] . [b >= t]`` over count levels ``t``; the
  level masks (each restricted to the columns that reach that level, few beyond t = 2) are
  stacked side by side so one product sums all levels;
- other non-negative reals: ``sum(min) = (|a| + |b| - |a - b|_1) / 2`` with ``torch.cdist(p=1)``.

Prediction compares many new rows with the same fixed rows (support vectors, training set):
:class:`TanimotoReference` prepares those rows' level masks once, and the new rows' masks are
built sparse (a fingerprint sets ~1-3 % of its bits), so the product costs the nonzeros of the
new rows times the reference rows instead of the full width. Same values as
:func:`tanimoto_kernel`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from drugforge.molecules.featurize import Featurizer, featurize_many, get_featurizer
from drugforge.molecules.models.base import (
    ModelState,
    MolecularPredictor,
    MolLike,
    TaskType,
    as_2d_targets,
    check_state_format,
)

__all__ = [
    "DEFAULT_FINGERPRINT",
    "KERNEL_FEATURIZER",
    "KERNEL_FEATURIZER_DEFAULTS",
    "KernelKind",
    "TanimotoReference",
    "TaskArray",
    "blas_threads",
    "cached_reference",
    "compact_features",
    "default_featurizer_params",
    "featurize_X",
    "featurizers_from_meta",
    "featurizers_to_meta",
    "kernel_model_from_state",
    "kernel_model_state",
    "prepare_targets",
    "resolve_featurizers",
    "tanimoto_binary",
    "tanimoto_kernel",
    "tanimoto_minmax",
]

KernelKind = Literal["auto", "binary", "minmax"]

#: Fingerprint of the kernel models when ``featurizer='ecfp'`` comes without params: count
#: ECFP4 folded to 4096 bits (5-fold CV on the 30 MoleculeACE training sets: counts beat bits,
#: 4096 bits beat 2048 and 1024, radius 2 beat radius 3).
DEFAULT_FINGERPRINT: dict[str, Any] = {"radius": 2, "size": 4096, "counts": True}

#: Default features of the Tanimoto SVM and GP: count ECFP4 next to count FCFP4. The MinMax
#: kernel on the concatenation mixes exact-substructure and pharmacophore similarity; it lowered
#: the CV RMSE of both models on the MoleculeACE training sets (benchmarks/).
KERNEL_FEATURIZER: tuple[str, ...] = ("ecfp", "fcfp")

#: Params the kernel models use for a featurizer named without params.
KERNEL_FEATURIZER_DEFAULTS: dict[str, dict[str, Any]] = {
    "ecfp": DEFAULT_FINGERPRINT,
    "fcfp": {"radius": 2, "size": 2048, "counts": True},
}

_ROW_BLOCK = 4096  # rows of A per block: bounds the temporary level masks to ~block * d floats


def _as_f32(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"kernel inputs must be 2-D, got shape {X.shape}")
    return np.ascontiguousarray(X, dtype=np.float32)


def _check_pair(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A, B = _as_f32(A), _as_f32(B)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"feature dimensions differ: {A.shape[1]} vs {B.shape[1]}")
    return A, B


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # Two all-zero vectors are identical: similarity 1 (keeps K PSD: an equality indicator).
    out = np.ones_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def tanimoto_binary(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Jaccard similarity of 0/1 rows: ``K[i, j] = a.b / (|a| + |b| - a.b)``, ``(n, m)`` float64.

    Nonzero entries are treated as 1.
    """
    A, B = _check_pair(A, B)
    A = (A != 0).astype(np.float32)
    B = (B != 0).astype(np.float32)
    nb = B.sum(axis=1, dtype=np.float64)
    out = np.empty((A.shape[0], B.shape[0]), dtype=np.float64)
    for s in range(0, A.shape[0], _ROW_BLOCK):
        a = A[s : s + _ROW_BLOCK]
        inter = (a @ B.T).astype(np.float64)
        na = a.sum(axis=1, dtype=np.float64)
        out[s : s + len(a)] = _ratio(inter, na[:, None] + nb[None, :] - inter)
    return out


def _is_integer_valued(X: np.ndarray) -> bool:
    return bool(np.all(X == np.round(X)))


def _count_levels(A: np.ndarray, B: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """For each count level t >= 1, the columns where both ``A`` and ``B`` reach t somewhere."""
    if not (len(A) and len(B)):
        return []
    reach = np.minimum(A.max(axis=0), B.max(axis=0))
    return [(t, np.flatnonzero(reach >= t)) for t in range(1, int(reach.max()) + 1)]


def _level_masks(X: np.ndarray, levels: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """``[X[:, c_1] >= 1 | X[:, c_2] >= 2 | ...]`` as one float32 matrix.

    ``min(x, y) = sum_t [x >= t][y >= t]`` for non-negative integers, so the product of the
    masks of two inputs sums ``min`` over every column and level at once (exact: small ints).
    """
    if not levels:
        return np.zeros((len(X), 0), dtype=np.float32)
    return np.hstack([(X[:, cols] >= t).astype(np.float32) for t, cols in levels])


def _sum_min_cdist(a: np.ndarray, B: np.ndarray) -> np.ndarray:
    import torch  # only for real-valued non-negative features

    with torch.no_grad():
        ta, tb = torch.from_numpy(a).double(), torch.from_numpy(B).double()
        l1 = torch.cdist(ta, tb, p=1.0)
        sums = ta.sum(1)[:, None] + tb.sum(1)[None, :]
        return ((sums - l1) / 2.0).numpy()


def tanimoto_minmax(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """MinMax (count Tanimoto) similarity ``sum(min) / sum(max)`` of non-negative rows.

    Equals :func:`tanimoto_binary` on 0/1 data. ``(n, m)`` float64.
    """
    A, B = _check_pair(A, B)
    if (A.size and A.min() < 0) or (B.size and B.min() < 0):
        raise ValueError(
            "the Tanimoto kernel needs non-negative features (fingerprints); "
            "signed features such as rdkit2d need another model (gbm, mlp)"
        )
    integer = _is_integer_valued(A) and _is_integer_valued(B)
    # Level decomposition is exact and fast for fingerprint counts (small integers).
    levels = _count_levels(A, B) if integer else []
    integer = integer and len(levels) <= 1024
    mask_b = _level_masks(B, levels) if integer else None  # (m, sum of level widths)
    nb = B.sum(axis=1, dtype=np.float64)
    out = np.empty((A.shape[0], B.shape[0]), dtype=np.float64)
    for s in range(0, A.shape[0], _ROW_BLOCK):
        a = A[s : s + _ROW_BLOCK]
        if mask_b is not None:
            mask_a = (
                mask_b if (a is B or (A is B and len(a) == len(A))) else _level_masks(a, levels)
            )
            smin = (mask_a @ mask_b.T).astype(np.float64)
        else:
            smin = _sum_min_cdist(a, B)
        na = a.sum(axis=1, dtype=np.float64)
        smax = na[:, None] + nb[None, :] - smin
        out[s : s + len(a)] = _ratio(smin, smax)
    return out


class TanimotoReference:
    """Fixed right-hand rows ``B`` of a Tanimoto kernel, prepared once for many calls.

    ``reference.kernel(A)`` equals ``tanimoto_kernel(A, B)``. For integer counts (fingerprints)
    the levels come from ``B`` alone (``min(a, b) = sum_{t <= b} [a >= t][b >= t]``), so ``B``'s
    level masks are built once, and ``A``'s are built directly from its nonzero entries as a
    sparse matrix; other inputs fall back to :func:`tanimoto_kernel`.
    """

    def __init__(self, B: np.ndarray) -> None:
        self.B = _as_f32(B)
        self.binary = bool(np.isin(self.B, (0.0, 1.0)).all())
        self.nb = self.B.sum(axis=1, dtype=np.float64)
        self.integer = bool(self.B.size) and self.B.min() >= 0 and _is_integer_valued(self.B)
        self._mask_t: np.ndarray | None = None
        if not self.integer:
            return
        self.bmax = self.B.max(axis=0).astype(np.int64)  # (d,)
        levels = [(t, np.flatnonzero(self.bmax >= t)) for t in range(1, int(self.bmax.max()) + 1)]
        # key of (level t, column c) in the stacked masks; -1 where B never reaches t in c
        self.key = np.full((len(levels), self.B.shape[1]), -1, dtype=np.int64)
        offset = 0
        for t, cols in levels:
            self.key[t - 1, cols] = offset + np.arange(len(cols))
            offset += len(cols)
        self.width = offset
        self._mask_t = np.ascontiguousarray(_level_masks(self.B, levels).T)  # (width, m)

    def kernel(self, A: np.ndarray, kind: KernelKind = "auto") -> np.ndarray:
        """``tanimoto_kernel(A, B, kind)``, ``(len(A), len(B))`` float64."""
        A = _as_f32(A)
        if A.shape[1] != self.B.shape[1]:
            raise ValueError(f"feature dimensions differ: {A.shape[1]} vs {self.B.shape[1]}")
        a_binary = bool(np.isin(A, (0.0, 1.0)).all())
        if kind == "binary" or (kind == "auto" and a_binary and self.binary):
            return tanimoto_binary(A, self.B)
        if kind not in ("auto", "minmax"):
            raise ValueError(f"unknown kernel kind {kind!r}; choose from: auto, binary, minmax")
        if A.size and A.min() < 0:
            return tanimoto_minmax(A, self.B)  # raises its error about negative features
        if self._mask_t is None or not _is_integer_valued(A) or not len(self.B):
            return tanimoto_minmax(A, self.B)
        import scipy.sparse as sp

        out = np.empty((A.shape[0], self.B.shape[0]), dtype=np.float64)
        for s in range(0, A.shape[0], _ROW_BLOCK):
            a = A[s : s + _ROW_BLOCK]
            rows, cols = np.nonzero(a)
            reach = np.minimum(a[rows, cols].astype(np.int64), self.bmax[cols])
            keep = reach > 0
            rows, cols, reach = rows[keep], cols[keep], reach[keep]
            # one entry per (row, level t <= reach) of each nonzero
            first = np.repeat(np.cumsum(reach) - reach, reach)
            level = np.arange(int(reach.sum())) - first  # 0-based level index
            owner = np.repeat(np.arange(len(rows)), reach)
            keys = self.key[level, cols[owner]]
            mask_a = sp.csr_matrix(
                (np.ones(len(keys), dtype=np.float32), (rows[owner], keys)),
                shape=(len(a), self.width),
            )
            smin = np.asarray(mask_a @ self._mask_t, dtype=np.float64)  # exact small integers
            na = a.sum(axis=1, dtype=np.float64)
            out[s : s + len(a)] = _ratio(smin, na[:, None] + self.nb[None, :] - smin)
        return out


def cached_reference(owner: object, rows: np.ndarray) -> TanimotoReference:
    """The :class:`TanimotoReference` of ``rows``, kept on ``owner`` while ``rows`` is the same
    array (a fitted model's support vectors or training features; a refit replaces them)."""
    held = owner.__dict__.get("_tanimoto_reference")
    if held is None or held[0] is not rows:
        held = (rows, TanimotoReference(rows))
        owner.__dict__["_tanimoto_reference"] = held
    return held[1]  # type: ignore[no-any-return]


@contextmanager
def blas_threads(n_jobs: int | None) -> Iterator[None]:
    """Run the enclosed BLAS/LAPACK work on at most ``n_jobs`` threads (``< 1``: unchanged).

    The kernel models default to one thread: on a shared or busy machine OpenBLAS threads that
    spin-wait for busy cores made an eigendecomposition 15x slower, and a fixed thread count
    keeps floating-point results reproducible across machines.
    """
    if n_jobs is None or n_jobs < 1:
        yield
        return
    with threadpool_limits(limits=int(n_jobs), user_api="blas"):
        yield


def tanimoto_kernel(A: np.ndarray, B: np.ndarray, kind: KernelKind = "auto") -> np.ndarray:
    """Tanimoto similarity matrix between the rows of ``A`` and ``B``.

    ``kind='auto'`` uses the binary formula when both inputs are 0/1 and MinMax otherwise.
    """
    if kind == "binary":
        return tanimoto_binary(A, B)
    if kind == "minmax":
        return tanimoto_minmax(A, B)
    if kind != "auto":
        raise ValueError(f"unknown kernel kind {kind!r}; choose from: auto, binary, minmax")
    A, B = _check_pair(A, B)
    if np.isin(A, (0.0, 1.0)).all() and np.isin(B, (0.0, 1.0)).all():
        return tanimoto_binary(A, B)
    return tanimoto_minmax(A, B)


# ------------------------------------------------------------------ helpers shared by the models
def prepare_targets(y: Any, task: TaskType, n: int | None = None) -> np.ndarray:
    """Validate targets and return them as float64 ``(n, t)`` (NaN = missing).

    Classification labels must be 0/1; every task needs at least one label.
    """
    if task not in ("regression", "classification"):
        raise ValueError(f"unknown task {task!r}; choose from: classification, regression")
    Y = as_2d_targets(y)
    if n is not None and Y.shape[0] != n:
        raise ValueError(f"X has {n} molecules but y has {Y.shape[0]} rows")
    if np.isinf(Y).any():
        raise ValueError("targets contain infinite values")
    labelled = ~np.isnan(Y)
    empty = np.flatnonzero(~labelled.any(axis=0))
    if empty.size:
        raise ValueError(f"task column(s) {empty.tolist()} have no labels")
    if task == "classification":
        vals = Y[labelled]
        if not np.isin(vals, (0.0, 1.0)).all():
            raise ValueError("classification targets must be 0/1 (NaN for missing)")
    return Y


def default_featurizer_params(featurizer: str | Sequence[str], featurizer_params: Any) -> Any:
    """``featurizer_params``, or :data:`DEFAULT_FINGERPRINT` for ``'ecfp'`` given without params."""
    if featurizer_params is None and featurizer == "ecfp":
        return dict(DEFAULT_FINGERPRINT)
    return featurizer_params


def resolve_featurizers(
    featurizer: str | Sequence[str],
    featurizer_params: dict[str, Any] | Sequence[dict[str, Any] | None] | None,
    defaults: Mapping[str, dict[str, Any]] | None = None,
) -> list[Featurizer]:
    """Build featurizers from a name (or list of names) and params (a dict, or one per name).

    A featurizer given without params (``None``) gets ``defaults[name]`` when present, else its
    own defaults.
    """
    names = [featurizer] if isinstance(featurizer, str) else list(featurizer)
    if not names:
        raise ValueError("featurizer must name at least one featurizer")
    if featurizer_params is None:
        plist: list[dict[str, Any] | None] = [None] * len(names)
    elif isinstance(featurizer_params, dict):
        if len(names) != 1:
            raise ValueError("with several featurizers give featurizer_params as a list of dicts")
        plist = [featurizer_params]
    else:
        plist = list(featurizer_params)
        if len(plist) != len(names):
            raise ValueError(
                f"featurizer_params has {len(plist)} entries for {len(names)} featurizers"
            )
    defaults = defaults or {}
    return [
        get_featurizer(n, **(dict(defaults.get(n, {})) if p is None else p))
        for n, p in zip(names, plist, strict=True)
    ]


def featurizers_to_meta(feats: Sequence[Featurizer]) -> list[dict[str, Any]]:
    """JSON description of the featurizers a model was fitted with."""
    return [{"name": f.name, "params": f.params(), "dim": len(f)} for f in feats]


def featurizers_from_meta(meta: Sequence[dict[str, Any]]) -> list[Featurizer]:
    """Rebuild featurizers from :func:`featurizers_to_meta`, checking their dimensions."""
    feats = [get_featurizer(m["name"], **m["params"]) for m in meta]
    for f, m in zip(feats, meta, strict=True):
        if "dim" in m and len(f) != int(m["dim"]):
            raise ValueError(
                f"featurizer {f.name!r} now has {len(f)} features, the model was fitted with "
                f"{m['dim']} (different RDKit version?)"
            )
    return feats


def featurize_X(feats: Sequence[Featurizer], X: Sequence[MolLike], n_jobs: int = 1) -> np.ndarray:
    """Features of ``X`` (SMILES or Mols) for the given featurizers, ``(n, d)`` float32."""
    if isinstance(X, str):
        raise TypeError("X must be a sequence of SMILES or Mols, not a single string")
    return featurize_many(feats, list(X), n_jobs=n_jobs)


def compact_features(X: np.ndarray) -> np.ndarray:
    """Smallest dtype that holds ``X`` exactly (uint8/uint16 for fingerprints), for artifacts."""
    X = np.asarray(X, dtype=np.float32)
    if X.size and _is_integer_valued(X) and X.min() >= 0:
        top = X.max()
        if top <= np.iinfo(np.uint8).max:
            return X.astype(np.uint8)
        if top <= np.iinfo(np.uint16).max:
            return X.astype(np.uint16)
    return X


# ------------------------------------------------------------------- kernel models' state
#: a per-task array of a kernel model's state: (key in the task dict, dtype, required)
TaskArray = tuple[str, type, bool]
_K = TypeVar("_K", bound=MolecularPredictor)


def kernel_model_state(model: MolecularPredictor, fmt: int, features: tuple[str, np.ndarray],
                       task_arrays: Sequence[TaskArray]) -> ModelState:  # fmt: skip
    """The saved state of a kernel model (SVM, GP): its feature matrix, per-task arrays
    ``task{j}.{key}`` and the rest of each task dict as JSON, with params and featurizers."""
    name, matrix = features
    arrays: dict[str, np.ndarray] = {name: compact_features(matrix)}
    keys = {key for key, _, _ in task_arrays}
    tasks_meta: list[dict[str, Any]] = []
    for j, task in enumerate(model.tasks_):
        for key, dtype, _ in task_arrays:
            if key in task:
                arrays[f"task{j}.{key}"] = np.asarray(task[key], dtype=dtype)
        tasks_meta.append({k: v for k, v in task.items() if k not in keys})
    meta = {
        "model": model.name,
        "format": fmt,
        "params": copy.deepcopy(model.get_params()),
        "featurizers": featurizers_to_meta(model.featurizers_),
        "n_tasks": model.n_tasks_,
        "n_features": model.n_features_,
        "tasks": tasks_meta,
    }
    return ModelState(arrays=arrays, meta=meta)


def kernel_model_from_state(cls: type[_K], state: ModelState, fmt: int, features: str,
                            task_arrays: Sequence[TaskArray]) -> tuple[_K, np.ndarray]:  # fmt: skip
    """Rebuild what :func:`kernel_model_state` saved: the model (``tasks_`` set) and its
    feature matrix (float32). A required per-task array that is missing is a KeyError."""
    meta = state.meta
    check_state_format(meta, cls.name, fmt)
    model = cls(**meta["params"])
    model.featurizers_ = featurizers_from_meta(meta["featurizers"])
    matrix = np.asarray(state.arrays[features], dtype=np.float32)
    model.n_tasks_ = int(meta["n_tasks"])
    model.n_features_ = int(meta["n_features"])
    tasks = []
    for j, saved in enumerate(meta["tasks"]):
        task = dict(saved)
        for key, dtype, required in task_arrays:
            name = f"task{j}.{key}"
            if required or name in state.arrays:
                task[key] = np.asarray(state.arrays[name], dtype=dtype)
        tasks.append(task)
    model.tasks_ = tasks
    return model, matrix
