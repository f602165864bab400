"""Train/validation/test splits of any dataset: random, grouped, a column, and k-fold.

* ``random``: a seeded permutation.
* grouped methods (molecules: ``scaffold``, ``cluster``): a modality passes ``groupings``, each
  a function from the data to groups of positions that must stay together. Groups are assigned
  whole with chemprop's balanced scaffold rule: groups bigger than half the validation or test
  size are placed first, both the big and the small groups shuffled by the seed, then filled
  greedily into train, val, test. A group is never shared between two parts.
* ``column:NAME``: ``train``/``val`` (``valid``, ``validation``)/``test`` values of a column
  (``dataset.extra[NAME]`` or ``column_values``). Without validation rows, a seeded random
  ``sizes[1] / (sizes[0] + sizes[1])`` share of train becomes validation.

The same inputs and seed always give the same indices; the :class:`Split` JSON (the split
manifest saved beside a model) records how they were made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drugforge.core.errors import InputError

__all__ = [
    "SPLIT_FORMAT_VERSION",
    "Grouping",
    "Split",
    "kfold",
    "make_split",
    "normalize_sizes",
]

SPLIT_FORMAT_VERSION = 1
_PART_NAMES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}  # fmt: skip

#: a grouped split method: the data -> (groups of positions kept together, parameters recorded in
#: the split manifest, e.g. a clustering threshold)
Grouping = Callable[[Any], tuple[list[list[int]], dict[str, Any]]]


def _as_index(values: Any) -> np.ndarray:
    return np.asarray(values if values is not None else [], dtype=np.int64).reshape(-1)


@dataclass
class Split:
    """Index arrays into a dataset plus how they were made (for the split manifest)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.train = _as_index(self.train)
        self.val = _as_index(self.val)
        self.test = _as_index(self.test)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.val), len(self.test)

    def assert_disjoint(self, n: int | None = None) -> None:
        """Raise ValueError when a part repeats an index, two parts share one, or (given ``n``)
        an index is out of range."""
        parts = {"train": self.train, "val": self.val, "test": self.test}
        for name, idx in parts.items():
            if np.unique(idx).size != idx.size:
                raise ValueError(f"split part '{name}' repeats indices")
            if n is not None and idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"split part '{name}' has indices outside 0..{n - 1}")
        names = list(parts)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                shared = np.intersect1d(parts[a], parts[b])
                if shared.size:
                    raise ValueError(f"split parts '{a}' and '{b}' share {shared.size} indices")

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "format": SPLIT_FORMAT_VERSION,
            "method": self.method,
            "seed": int(self.seed),
            "params": self.params,
            "sizes": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "train": self.train.tolist(),
            "val": self.val.tolist(),
            "test": self.test.tolist(),
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_json_dict(), indent=indent)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Split:
        try:
            return cls(
                train=_as_index(data["train"]),
                val=_as_index(data.get("val", [])),
                test=_as_index(data["test"]),
                method=str(data["method"]),
                seed=int(data.get("seed", 0)),
                params=dict(data.get("params", {})),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"not a drugforge split: {err}") from None

    @classmethod
    def from_json(cls, text: str) -> Split:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"split is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise InputError("not a drugforge split: expected a JSON object")
        return cls.from_json_dict(data)


# ----------------------------------------------------------------------------- helpers


def normalize_sizes(sizes: Sequence[float]) -> tuple[float, float, float]:
    """Train/val/test fractions from three (or a train/test pair of) fractions summing to 1."""
    values = [float(s) for s in sizes]
    if len(values) == 2:
        values = [values[0], 0.0, values[1]]
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise InputError(
            f"split sizes must be 3 non-negative fractions summing to 1, got {tuple(sizes)}"
        )
    return values[0], values[1], values[2]


def _length(data: Sized | int) -> int:
    return int(data) if isinstance(data, (int, np.integer)) else len(data)


def _sorted(parts: Sequence[Sequence[int] | np.ndarray]) -> tuple[np.ndarray, ...]:
    return tuple(np.sort(_as_index(p)) for p in parts)


def _balanced_assign(
    groups: Sequence[Sequence[int]], n: int, sizes: tuple[float, float, float], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """chemprop's balanced scaffold assignment of whole groups to train/val/test."""
    train_size, val_size, test_size = (s * n for s in sizes)
    big = [g for g in groups if len(g) > val_size / 2 or len(g) > test_size / 2]
    small = [g for g in groups if not (len(g) > val_size / 2 or len(g) > test_size / 2)]
    rng = np.random.default_rng(seed)
    ordered = [big[i] for i in rng.permutation(len(big))] + [
        small[i] for i in rng.permutation(len(small))
    ]
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for group in ordered:
        if len(train) + len(group) <= train_size:
            train.extend(group)
        elif len(val) + len(group) <= val_size:
            val.extend(group)
        else:
            test.extend(group)
    return _sorted((train, val, test))  # type: ignore[return-value]


def _random_parts(n: int, sizes: tuple[float, float, float], seed: int) -> tuple[np.ndarray, ...]:
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(sizes[2] * n)
    n_val = round(sizes[1] * n)
    if sizes[2] > 0 and n_test == 0 and n >= 3:
        n_test = 1
    if sizes[1] > 0 and n_val == 0 and n >= 3:
        n_val = 1
    n_val = min(n_val, n - n_test)
    return _sorted((perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]))


def _carve(
    train: np.ndarray,
    fraction: float,
    seed: int,
    groups: Sequence[Sequence[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Move a seeded ``fraction`` of ``train`` to validation (whole groups when given)."""
    if fraction <= 0 or train.size == 0:
        return train, np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    target = round(fraction * train.size)
    if target == 0:
        return train, np.zeros(0, dtype=np.int64)
    if groups is None:
        chosen = rng.permutation(train)[:target]
    else:
        in_train = set(train.tolist())
        candidates = [g for g in groups if g and g[0] in in_train]
        picked: list[int] = []
        for k in rng.permutation(len(candidates)):
            group = candidates[k]
            if len(picked) + len(group) <= target:
                picked.extend(group)
            if len(picked) >= target:
                break
        if not picked and candidates:
            smallest = min(range(len(candidates)), key=lambda j: len(candidates[j]))
            picked = list(candidates[smallest])
        chosen = np.asarray(picked, dtype=np.int64)
    val = np.sort(chosen)
    return np.setdiff1d(train, val), val


def _column_parts(values: Sequence[Any], column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    unknown: dict[str, None] = {}
    for i, value in enumerate(values):
        key = _PART_NAMES.get(str(value).strip().lower()) if value is not None else None
        if key is None:
            unknown.setdefault(str(value), None)
        else:
            parts[key].append(i)
    if unknown:
        shown = ", ".join(repr(u) for u in list(unknown)[:5])
        raise InputError(f"split column '{column}' has values other than train/val/test: {shown}")
    if not parts["test"]:
        raise InputError(f"split column '{column}' has no 'test' rows")
    if not parts["train"]:
        raise InputError(f"split column '{column}' has no 'train' rows")
    return _sorted((parts["train"], parts["val"], parts["test"]))  # type: ignore[return-value]


# ----------------------------------------------------------------------------- public API


def make_split(
    data: Sized | int,
    method: str,
    seed: int = 0,
    sizes: Sequence[float] = (0.8, 0.1, 0.1),
    column_values: Sequence[Any] | None = None,
    *,
    groupings: Mapping[str, Grouping] | None = None,
    unit: str = "rows",
) -> Split:
    """Split ``data`` (a dataset, a list of inputs, or a size ``n`` for ``random``) into
    train/val/test.

    Parameters
    ----------
    method : ``random``, ``column:NAME`` or a name in ``groupings`` (see module docstring).
    seed : the only source of randomness; the same inputs and seed give the same split.
    sizes : train/val/test fractions (a pair means train/test).
    column_values : values of the split column when the dataset does not carry it.
    groupings : the grouped methods of the data's modality, by name (called with ``data``).
    unit : what a row is called in messages (``molecules``).
    """
    groupings = groupings or {}
    fractions = normalize_sizes(sizes)
    n = _length(data)
    params: dict[str, Any] = {"sizes": list(fractions), "n": n}
    if n == 0:
        raise InputError("cannot split an empty dataset")
    if method == "random":
        train, val, test = _random_parts(n, fractions, seed)
    elif method in groupings:
        groups, method_params = groupings[method](data)
        params.update(method_params)
        params["n_groups"] = len(groups)
        train, val, test = _balanced_assign(groups, n, fractions, seed)
    elif method.startswith("column:") and len(method) > len("column:"):
        column = method.split(":", 1)[1]
        values = column_values
        if values is None:
            extra = getattr(data, "extra", None) or {}
            if column not in extra:
                shown = ", ".join(extra) or "none"
                raise InputError(
                    f"split column '{column}' is not in the dataset (carried columns: {shown})"
                )
            values = list(extra[column])
        if len(values) != n:
            raise InputError(f"split column '{column}' has {len(values)} values for {n} {unit}")
        params["column"] = column
        train, val, test = _column_parts(list(values), column)
        if val.size == 0 and fractions[1] > 0:
            train, val = _carve(train, fractions[1] / (fractions[0] + fractions[1]), seed)
            params["val_carved_from_train"] = True
    else:
        choices = ("random", *groupings, "column:NAME")
        raise InputError(f"unknown split method '{method}'; choose from: {', '.join(choices)}")
    split = Split(train=train, val=val, test=test, method=method, seed=seed, params=params)
    split.assert_disjoint(n)
    return split


def kfold(
    data: Sized | int,
    k: int = 5,
    method: str = "random",
    seed: int = 0,
    *,
    val_fraction: float = 0.0,
    groupings: Mapping[str, Grouping] | None = None,
    unit: str = "rows",
) -> list[Split]:
    """``k`` splits whose test parts partition the data (``random`` or a name in ``groupings``).

    Grouped methods keep every group inside one fold (groups are shuffled by the seed, then
    placed largest first into the currently smallest fold). With ``val_fraction`` > 0 a seeded
    share of each training part (whole groups for grouped methods) becomes validation.
    """
    groupings = groupings or {}
    n = _length(data)
    if k < 2:
        raise InputError(f"k-fold needs k >= 2, got {k}")
    if n < k:
        raise InputError(f"cannot make {k} folds from {n} {unit}")
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    groups: list[list[int]] | None = None
    if method == "random":
        folds = [np.sort(f) for f in np.array_split(rng.permutation(n), k)]
    elif method in groupings:
        groups, _ = groupings[method](data)
        shuffled = [groups[i] for i in rng.permutation(len(groups))]
        shuffled.sort(key=len, reverse=True)  # stable: equal sizes keep the seeded order
        members: list[list[int]] = [[] for _ in range(k)]
        for group in shuffled:
            smallest = min(range(k), key=lambda f: len(members[f]))
            members[smallest].extend(group)
        folds = [np.sort(np.asarray(m, dtype=np.int64)) for m in members]
        if any(f.size == 0 for f in folds):
            raise InputError(f"only {len(groups)} {method} groups; cannot make {k} non-empty folds")
    else:
        raise InputError(
            f"unknown k-fold method '{method}'; choose from: {', '.join(('random', *groupings))}"
        )
    splits: list[Split] = []
    for f in range(k):
        test = folds[f]
        train = np.sort(np.concatenate([folds[j] for j in range(k) if j != f]))
        train, val = _carve(train, val_fraction, seed + f, groups)
        params = {"k": k, "fold": f, "val_fraction": val_fraction, "n": n}
        split = Split(
            train=train, val=val, test=test, method=f"kfold-{method}", seed=seed, params=params
        )
        split.assert_disjoint(n)
        splits.append(split)
    return splits
