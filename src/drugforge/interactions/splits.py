"""Splits of pair data: a split column (DeepDTA's folds), random, or cold on drugs/targets.

``column:NAME`` reads each pair's part from a column: values starting ``train`` (DeepDTA's
``train0..train4``) are training, ``valid``/``val`` validation, ``test`` the test set. Without
validation rows a seeded 10 % of the training pairs is held out for early stopping and the
uncertainty calibration (recorded in the split's params). The cold splits
(:func:`drugforge.core.group_splits.pair_split`) keep every test drug (``cold-drug``), target
(``cold-target``) or both (``cold-both``) out of training and validation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from drugforge.core.errors import InputError
from drugforge.core.group_splits import pair_kfold, pair_split
from drugforge.core.splits import Split
from drugforge.interactions.data import PairDataset

__all__ = ["SPLIT_KINDS", "check_split_spec", "cv_folds", "split_pairs"]

SPLIT_KINDS = ("random", "cold-drug", "cold-target", "cold-both")
_HOLDOUT = 0.1


def check_split_spec(value: str) -> str:
    """``value`` if it names a split (``column:NAME`` or one of :data:`SPLIT_KINDS`)."""
    if value in SPLIT_KINDS or (value.startswith("column:") and len(value) > len("column:")):
        return value
    raise ValueError(f"unknown split '{value}'; choose from: column:NAME, {', '.join(SPLIT_KINDS)}")


def _part(value: str) -> str | None:
    v = value.strip().lower()
    if v.startswith("train"):
        return "train"
    if v.startswith(("valid", "val")):
        return "val"
    if v == "test":
        return "test"
    return None


def _column_split(data: PairDataset, column: str, seed: int) -> Split:
    if column not in data.extra:
        raise InputError(f"no '{column}' column for --split column:{column}", path=data.source)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, value in enumerate(data.extra[column]):
        part = _part(str(value))
        if part is None:
            raise InputError(f"{column} '{value}' is none of train*, valid*, test",
                             path=data.source, line=data.lines[i])  # fmt: skip
        parts[part].append(i)
    if not parts["train"]:
        raise InputError(f"split column '{column}' has no train rows", path=data.source)
    train, val = np.asarray(parts["train"]), np.asarray(parts["val"], dtype=np.int64)
    params: dict[str, object] = {"column": column}
    if val.size == 0:
        rng = np.random.default_rng(seed)
        held = rng.permutation(train.size)[: max(1, round(_HOLDOUT * train.size))]
        val = np.sort(train[held])
        train = np.setdiff1d(train, val)
        params["validation"] = f"{_HOLDOUT:.0%} of the training rows, seed {seed}"
    return Split(train, val, np.asarray(parts["test"], dtype=np.int64), f"column:{column}", seed,
                 params)  # fmt: skip


def split_pairs(
    data: PairDataset, spec: str, *, sizes: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> Split:
    """The train/validation/test split of ``data`` named by ``spec`` (see the module doc)."""
    spec = check_split_spec(spec)
    if spec.startswith("column:"):
        return _column_split(data, spec[len("column:") :], seed)
    try:
        return pair_split(data.drug_ids, data.target_ids, spec, sizes=tuple(sizes), seed=seed)  # type: ignore[arg-type]
    except ValueError as err:
        raise InputError(str(err), path=data.source) from None


def cv_folds(data: PairDataset, spec: str, k: int, seed: int) -> list[Split]:
    """``k`` cross-validation folds of ``data`` grouped like the split ``spec`` (a column split
    validates on random folds); each fold's ``test`` part is its held-out pairs."""
    kind = spec if spec in SPLIT_KINDS else "random"
    folds = pair_kfold(data.drug_ids, data.target_ids, kind, k=k, seed=seed)  # type: ignore[arg-type]
    return [Split(tr, np.empty(0, np.int64), va, f"cv:{kind}", seed) for tr, va in folds]
