"""Train/validation/test splits: random, scaffold, cluster, a column, and k-fold.

* ``random``: a seeded permutation.
* ``scaffold``: balanced Bemis-Murcko split (chemprop's ``scaffold_balanced``): scaffold sets
  bigger than half the validation or test size are placed first, both the big and the small sets
  shuffled by the seed, then filled greedily into train, val, test. A scaffold is never shared
  between two parts.
* ``cluster``: Butina clustering of Tanimoto distances on ECFP4 (2048 bits, distance threshold
  0.65 by default); whole clusters are assigned like scaffold sets.
* ``column:NAME``: ``train``/``val`` (``valid``, ``validation``)/``test`` values of a column
  (``dataset.extra[NAME]`` or ``column_values``). Without validation rows, a seeded random
  ``sizes[1] / (sizes[0] + sizes[1])`` share of train becomes validation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from rdkit import rdBase
from rdkit.Chem import rdFingerprintGenerator

from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.chem.scaffold import murcko_scaffold
from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.core.errors import InputError

__all__ = [
    "SPLIT_METHODS",
    "Split",
    "butina_clusters",
    "kfold",
    "make_split",
    "scaffold_groups",
]

SPLIT_METHODS = ("random", "scaffold", "cluster", "column:NAME")
SPLIT_FORMAT_VERSION = 1
_PART_NAMES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}  # fmt: skip


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


def _normalize_sizes(sizes: Sequence[float]) -> tuple[float, float, float]:
    values = [float(s) for s in sizes]
    if len(values) == 2:
        values = [values[0], 0.0, values[1]]
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise InputError(
            f"split sizes must be 3 non-negative fractions summing to 1, got {tuple(sizes)}"
        )
    return values[0], values[1], values[2]


def _smiles_of(data: MoleculeDataset | Sequence[str]) -> list[str]:
    if isinstance(data, MoleculeDataset):
        return data.smiles
    if isinstance(data, str):
        raise InputError("expected a dataset or a list of SMILES, got one string")
    return list(data)


def _length(data: MoleculeDataset | Sequence[str] | int) -> int:
    return int(data) if isinstance(data, (int, np.integer)) else len(_smiles_of(data))


def _sorted(parts: Sequence[Sequence[int] | np.ndarray]) -> tuple[np.ndarray, ...]:
    return tuple(np.sort(_as_index(p)) for p in parts)


def scaffold_groups(smiles: Sequence[str], generic: bool = False) -> list[list[int]]:
    """Positions grouped by Bemis-Murcko scaffold, groups in order of first appearance.

    Acyclic molecules share the scaffold ``''`` (one group), as in chemprop.
    """
    groups: dict[str, list[int]] = {}
    for i, smi in enumerate(smiles):
        key = _scaffold_key(smi, generic)
        if key is None:
            raise InputError(f"invalid SMILES '{smi}' at position {i + 1}; standardize first")
        groups.setdefault(key, []).append(i)
    return list(groups.values())


@lru_cache(maxsize=1 << 17)
def _scaffold_key(smiles: str, generic: bool) -> str | None:
    # cached: k-fold, repeated seeds and the train workflow split the same molecules many times
    mol = parse_smiles(smiles)
    return None if mol is None else murcko_scaffold(mol, generic=generic)


def _fingerprint_matrix(smiles: Sequence[str], radius: int, n_bits: int) -> np.ndarray:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(smiles), n_bits), dtype=np.float32)
    with rdBase.BlockLogs():
        for i, smi in enumerate(smiles):
            mol = parse_smiles(smi)
            if mol is None:
                raise InputError(f"invalid SMILES '{smi}' at position {i + 1}; standardize first")
            out[i] = generator.GetFingerprintAsNumPy(mol)
    return out


def butina_clusters(
    smiles: Sequence[str], threshold: float = 0.65, *, radius: int = 2, n_bits: int = 2048
) -> list[list[int]]:
    """Butina (Taylor-Butina) clusters on Tanimoto distance of Morgan fingerprints.

    Molecules within ``threshold`` distance (similarity >= 1 - threshold) are neighbours; the
    molecule with most unassigned-at-the-start neighbours becomes a centroid and takes its
    unassigned neighbours, as ``rdkit.ML.Cluster.Butina.ClusterData`` (no reordering) does;
    each cluster lists its centroid first.
    Similarities come from block matrix products, so 10k molecules take a few seconds.
    """
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"cluster threshold must be in [0, 1], got {threshold}")
    n = len(smiles)
    if n == 0:
        return []
    fps = _fingerprint_matrix(smiles, radius, n_bits)
    fps = fps[:, fps.any(axis=0)]  # unused bits only cost time
    counts = fps.sum(axis=1).astype(np.float64)
    min_sim = 1.0 - threshold
    block = max(1, int(4_000_000 // max(n, 1)))
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        # upper triangle only (columns >= start): similarity is symmetric
        inter = (fps[start:stop] @ fps[start:].T).astype(np.float64)  # exact: counts < 2**24
        union = counts[start:stop, None] + counts[None, start:] - inter
        sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        r, c = np.nonzero(sim >= min_sim - 1e-12)
        r, c = r + start, c + start
        upper = c > r
        rows_out.append(r[upper].astype(np.int32))
        cols_out.append(c[upper].astype(np.int32))
    upper_rows = np.concatenate(rows_out)
    upper_cols = np.concatenate(cols_out)
    rows = np.concatenate([upper_rows, upper_cols])
    cols = np.concatenate([upper_cols, upper_rows])
    degree = np.bincount(rows, minlength=n)
    order_pairs = np.argsort(rows, kind="stable")
    cols = cols[order_pairs]
    indptr = np.concatenate([[0], np.cumsum(degree)])
    # most neighbours first; ties go to the later molecule, exactly as RDKit's Butina sorts
    order = np.lexsort((-np.arange(n), -degree))
    assigned = np.zeros(n, dtype=bool)
    clusters: list[list[int]] = []
    for i in order:
        if assigned[i]:
            continue
        nbrs = cols[indptr[i] : indptr[i + 1]]
        nbrs = nbrs[~assigned[nbrs]]
        members = [int(i), *map(int, nbrs)]
        assigned[members] = True
        clusters.append(members)
    return clusters


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


def _groups_for(method: str, smiles: list[str], threshold: float) -> list[list[int]]:
    if method == "scaffold":
        return scaffold_groups(smiles)
    return butina_clusters(smiles, threshold)


# ----------------------------------------------------------------------------- public API


def make_split(
    dataset_or_smiles: MoleculeDataset | Sequence[str] | int,
    method: str,
    seed: int = 0,
    sizes: Sequence[float] = (0.8, 0.1, 0.1),
    column_values: Sequence[Any] | None = None,
    *,
    threshold: float = 0.65,
) -> Split:
    """Split a dataset (or SMILES list; or a size ``n`` for ``random``) into train/val/test.

    Parameters
    ----------
    method : ``random``, ``scaffold``, ``cluster`` or ``column:NAME`` (see module docstring).
    seed : the only source of randomness; the same inputs and seed give the same split.
    sizes : train/val/test fractions (a pair means train/test).
    column_values : values of the split column when the dataset does not carry it.
    threshold : Butina distance threshold for ``cluster``.
    """
    fractions = _normalize_sizes(sizes)
    n = _length(dataset_or_smiles)
    params: dict[str, Any] = {"sizes": list(fractions), "n": n}
    if n == 0:
        raise InputError("cannot split an empty dataset")
    if method == "random":
        train, val, test = _random_parts(n, fractions, seed)
    elif method in ("scaffold", "cluster"):
        smiles = _smiles_of(dataset_or_smiles)  # type: ignore[arg-type]
        groups = _groups_for(method, smiles, threshold)
        if method == "cluster":
            params.update(threshold=threshold, fingerprint="ecfp4-2048")
        params["n_groups"] = len(groups)
        train, val, test = _balanced_assign(groups, n, fractions, seed)
    elif method.startswith("column:") and len(method) > len("column:"):
        column = method.split(":", 1)[1]
        values = column_values
        if values is None:
            extra = getattr(dataset_or_smiles, "extra", None) or {}
            if column not in extra:
                shown = ", ".join(extra) or "none"
                raise InputError(
                    f"split column '{column}' is not in the dataset (carried columns: {shown})"
                )
            values = list(extra[column])
        if len(values) != n:
            raise InputError(f"split column '{column}' has {len(values)} values for {n} molecules")
        params["column"] = column
        train, val, test = _column_parts(list(values), column)
        if val.size == 0 and fractions[1] > 0:
            train, val = _carve(train, fractions[1] / (fractions[0] + fractions[1]), seed)
            params["val_carved_from_train"] = True
    else:
        raise InputError(
            f"unknown split method '{method}'; choose from: {', '.join(SPLIT_METHODS)}"
        )
    split = Split(train=train, val=val, test=test, method=method, seed=seed, params=params)
    split.assert_disjoint(n)
    return split


def kfold(
    n_or_dataset: MoleculeDataset | Sequence[str] | int,
    k: int = 5,
    method: str = "random",
    seed: int = 0,
    *,
    val_fraction: float = 0.0,
    threshold: float = 0.65,
) -> list[Split]:
    """``k`` splits whose test parts partition the data (``random``, ``scaffold`` or ``cluster``).

    Group methods keep every scaffold/cluster inside one fold (groups are shuffled by the seed,
    then placed largest first into the currently smallest fold). With ``val_fraction`` > 0 a
    seeded share of each training part (whole groups for group methods) becomes validation.
    """
    n = _length(n_or_dataset)
    if k < 2:
        raise InputError(f"k-fold needs k >= 2, got {k}")
    if n < k:
        raise InputError(f"cannot make {k} folds from {n} molecules")
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    groups: list[list[int]] | None = None
    if method == "random":
        folds = [np.sort(f) for f in np.array_split(rng.permutation(n), k)]
    elif method in ("scaffold", "cluster"):
        groups = _groups_for(method, _smiles_of(n_or_dataset), threshold)  # type: ignore[arg-type]
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
            f"unknown k-fold method '{method}'; choose from: random, scaffold, cluster"
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
