"""Splits of paired data (drug-target, or any row-key x column-key table) that keep keys apart.

Each row of the data is a pair ``(row_keys[i], col_keys[i])``; a key is any hashable value
(a drug id, a target name). The kinds, as in the DTA benchmarks (DeepDTA, TDC):

* ``random``: pairs split at random; the same drug and target occur in every part.
* ``cold-drug``: the row keys are partitioned, so no test (or validation) drug occurs in train.
* ``cold-target``: the same on the column keys.
* ``cold-both``: row keys and column keys are each partitioned; a pair is kept only when its
  drug and its target fall in the same part, the other pairs are dropped (their number is
  recorded in the split's ``params["n_dropped"]``).

A partition of keys shuffles the keys with the seed and cuts the shuffled list where the
cumulative pair counts come nearest to the requested fractions, so sizes are measured in pairs.
For ``cold-both`` each axis is cut at fractions proportional to ``sqrt(sizes)``: with pairs
spread evenly over the table, the kept pairs then follow ``sizes`` (plain ``sizes`` on both axes
would leave ``sizes[2] ** 2`` of the pairs, 1 % for a 10 % request, in test).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal, get_args

import numpy as np

from drugforge.core.errors import InputError
from drugforge.core.splits import Split, make_split, normalize_sizes

__all__ = ["PAIR_SPLIT_KINDS", "PairKind", "PairSplitError", "pair_kfold", "pair_split"]

PairKind = Literal["random", "cold-drug", "cold-target", "cold-both"]
PAIR_SPLIT_KINDS: tuple[str, ...] = get_args(PairKind)
_PART_NAMES = ("train", "val", "test")


class PairSplitError(InputError, ValueError):
    """Paired data cannot be split as asked (a ValueError, and a user error front ends print)."""


# ----------------------------------------------------------------------------- helpers


def _codes(keys: Sequence[Hashable], axis: str) -> tuple[np.ndarray, int]:
    """Integer code of each key, numbered by first appearance (independent of hash seeds)."""
    index: dict[Hashable, int] = {}
    try:
        codes = [index.setdefault(key, len(index)) for key in keys]
    except TypeError as err:
        raise PairSplitError(f"{axis} keys must be hashable: {err}") from None
    return np.asarray(codes, dtype=np.int64), len(index)


def _inputs(
    row_keys: Sequence[Hashable], col_keys: Sequence[Hashable], kind: str
) -> tuple[np.ndarray, int, np.ndarray, int]:
    if kind not in PAIR_SPLIT_KINDS:
        raise PairSplitError(
            f"unknown pair split kind '{kind}'; choose from: {', '.join(PAIR_SPLIT_KINDS)}"
        )
    if len(row_keys) != len(col_keys):
        raise PairSplitError(f"{len(row_keys)} row keys but {len(col_keys)} column keys")
    if len(row_keys) == 0:
        raise PairSplitError("cannot split an empty set of pairs")
    rows, n_rows = _codes(row_keys, "row")
    cols, n_cols = _codes(col_keys, "column")
    return rows, n_rows, cols, n_cols


def _fractions(sizes: Sequence[float]) -> tuple[float, float, float]:
    try:
        return normalize_sizes(sizes)
    except InputError as err:
        raise PairSplitError(str(err)) from None


def _partition(
    codes: np.ndarray,
    n_groups: int,
    fractions: tuple[float, float, float],
    rng: np.random.Generator,
    axis: str,
) -> np.ndarray:
    """Part (0 train, 1 val, 2 test) of every group: a seeded order of the groups, cut where the
    cumulative pair counts are nearest to the fractions; every part asked for gets a group."""
    wanted = [f > 0 for f in fractions]
    if n_groups < sum(wanted):
        raise PairSplitError(
            f"a cold split into {sum(wanted)} parts needs at least {sum(wanted)} distinct "
            f"{axis} keys, got {n_groups}"
        )
    order = rng.permutation(n_groups)
    covered = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_groups)[order])])
    total = float(covered[-1])
    c1 = int(np.argmin(np.abs(covered - fractions[0] * total)))
    c2 = int(np.argmin(np.abs(covered - (fractions[0] + fractions[1]) * total)))
    # clamp so that each requested part keeps at least one group, an unrequested one none
    c1 = min(max(c1, 1), n_groups - wanted[1] - wanted[2]) if wanted[0] else 0
    if not wanted[2]:
        c2 = n_groups
    elif not wanted[1]:
        c2 = c1
    else:
        c2 = min(max(c2, c1 + 1), n_groups - 1)
    part = np.empty(n_groups, dtype=np.int64)
    part[order[:c1]] = 0
    part[order[c1:c2]] = 1
    part[order[c2:]] = 2
    return part


def _fold_of_groups(
    codes: np.ndarray, n_groups: int, k: int, rng: np.random.Generator, axis: str
) -> np.ndarray:
    """Fold of every group: seeded order, then largest first into the fold with fewest pairs
    (as :func:`drugforge.core.splits.kfold` assigns groups)."""
    if n_groups < k:
        raise PairSplitError(f"only {n_groups} distinct {axis} keys; cannot make {k} folds")
    counts = np.bincount(codes, minlength=n_groups)
    order = rng.permutation(n_groups)
    order = order[np.argsort(-counts[order], kind="stable")]  # equal sizes keep the seeded order
    fold = np.empty(n_groups, dtype=np.int64)
    load = np.zeros(k, dtype=np.int64)
    for g in order:
        f = int(np.argmin(load))
        fold[g] = f
        load[f] += counts[g]
    return fold


def _where(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask).astype(np.int64)


# ----------------------------------------------------------------------------- public API


def pair_split(
    row_keys: Sequence[Hashable],
    col_keys: Sequence[Hashable],
    kind: PairKind,
    sizes: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> Split:
    """Train/val/test positions of the pairs ``(row_keys[i], col_keys[i])`` (see module doc).

    ``sizes`` are train/val/test fractions of the pairs (a pair means train/test); ``seed`` is
    the only randomness. ``params`` of the returned :class:`Split` records ``kind``, the counts
    of distinct keys, ``n_dropped`` (non-zero for ``cold-both`` only) and, for ``cold-both``,
    the per-axis fractions used.
    """
    rows, n_rows, cols, n_cols = _inputs(row_keys, col_keys, kind)
    fractions = _fractions(sizes)
    n = int(rows.size)
    params: dict[str, Any] = {
        "kind": kind, "sizes": list(fractions), "n": n, "n_row_keys": n_rows,
        "n_col_keys": n_cols, "n_dropped": 0,
    }  # fmt: skip
    rng = np.random.default_rng(seed)
    if kind == "random":
        try:
            base = make_split(n, "random", seed=seed, sizes=fractions, unit="pairs")
        except InputError as err:
            raise PairSplitError(str(err)) from None
        parts: tuple[np.ndarray, ...] = (base.train, base.val, base.test)
    elif kind in ("cold-drug", "cold-target"):
        if kind == "cold-drug":
            part = _partition(rows, n_rows, fractions, rng, "row")[rows]
        else:
            part = _partition(cols, n_cols, fractions, rng, "column")[cols]
        parts = tuple(_where(part == j) for j in range(3))
    else:
        roots = [math.sqrt(f) for f in fractions]
        axis_fractions = (roots[0] / sum(roots), roots[1] / sum(roots), roots[2] / sum(roots))
        row_part = _partition(rows, n_rows, axis_fractions, rng, "row")[rows]
        col_part = _partition(cols, n_cols, axis_fractions, rng, "column")[cols]
        same = row_part == col_part
        parts = tuple(_where(same & (row_part == j)) for j in range(3))
        params["axis_sizes"] = list(axis_fractions)
        params["n_dropped"] = int(n - same.sum())
    for name, idx in zip(_PART_NAMES, parts):
        if idx.size == 0 and fractions[_PART_NAMES.index(name)] > 0:
            raise PairSplitError(f"{kind} split left the {name} part empty; use more pairs")
    split = Split(
        train=parts[0], val=parts[1], test=parts[2], method=f"pair:{kind}", seed=seed,
        params=params,
    )  # fmt: skip
    split.assert_disjoint(n)
    return split


def pair_kfold(
    row_keys: Sequence[Hashable],
    col_keys: Sequence[Hashable],
    kind: PairKind,
    k: int = 5,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, validation) position pairs for cross-validation, grouped as ``kind``.

    ``random``, ``cold-drug``, ``cold-target``: the validation parts partition the pairs (groups
    of row or column keys kept inside one fold, largest first into the lightest fold).
    ``cold-both``: row keys and column keys each go into ``k`` folds; fold ``f`` validates on
    the pairs whose row and column keys are both in fold ``f`` and trains on those with neither,
    dropping the rest from that fold.
    """
    rows, n_rows, cols, n_cols = _inputs(row_keys, col_keys, kind)
    n = int(rows.size)
    if k < 2:
        raise PairSplitError(f"k-fold needs k >= 2, got {k}")
    if n < k:
        raise PairSplitError(f"cannot make {k} folds from {n} pairs")
    rng = np.random.default_rng(seed)
    if kind == "random":
        fold = np.empty(n, dtype=np.int64)
        for f, members in enumerate(np.array_split(rng.permutation(n), k)):
            fold[members] = f
        row_fold, col_fold = fold, fold
    elif kind == "cold-drug":
        row_fold = col_fold = _fold_of_groups(rows, n_rows, k, rng, "row")[rows]
    elif kind == "cold-target":
        row_fold = col_fold = _fold_of_groups(cols, n_cols, k, rng, "column")[cols]
    else:
        row_fold = _fold_of_groups(rows, n_rows, k, rng, "row")[rows]
        col_fold = _fold_of_groups(cols, n_cols, k, rng, "column")[cols]
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    for f in range(k):
        val = (row_fold == f) & (col_fold == f)
        train = (row_fold != f) & (col_fold != f)
        folds.append((_where(train), _where(val)))
    return folds
