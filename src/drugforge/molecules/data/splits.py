"""Molecule splits: the chemistry-aware grouped methods on top of :mod:`drugforge.core.splits`.

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

The splitting itself (random, column, balanced group assignment, k-fold) is modality-neutral and
lives in :mod:`drugforge.core.splits`; this module adds the scaffold and cluster groupings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from rdkit import rdBase
from rdkit.Chem import rdFingerprintGenerator

from drugforge.core import splits as core_splits
from drugforge.core.errors import InputError
from drugforge.core.splits import Grouping, Split
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.chem.scaffold import murcko_scaffold
from drugforge.molecules.data.dataset import MoleculeDataset

__all__ = [
    "SPLIT_METHODS",
    "Split",
    "butina_clusters",
    "kfold",
    "make_split",
    "scaffold_groups",
]

SPLIT_METHODS = ("random", "scaffold", "cluster", "column:NAME")


def _smiles_of(data: MoleculeDataset | Sequence[str]) -> list[str]:
    if isinstance(data, MoleculeDataset):
        return data.smiles
    if isinstance(data, str):
        raise InputError("expected a dataset or a list of SMILES, got one string")
    return list(data)


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


def groupings(threshold: float = 0.65) -> dict[str, Grouping]:
    """The grouped split methods of molecules, for :mod:`drugforge.core.splits`: ``scaffold``
    and ``cluster`` (Butina at distance ``threshold``)."""

    def by_scaffold(data: Any) -> tuple[list[list[int]], dict[str, Any]]:
        return scaffold_groups(_smiles_of(data)), {}

    def by_cluster(data: Any) -> tuple[list[list[int]], dict[str, Any]]:
        params = {"threshold": threshold, "fingerprint": "ecfp4-2048"}
        return butina_clusters(_smiles_of(data), threshold), params

    return {"scaffold": by_scaffold, "cluster": by_cluster}


def _as_data(data: MoleculeDataset | Sequence[str] | int) -> MoleculeDataset | list[str] | int:
    # a dataset or a size passes through; anything else must be SMILES (not one string)
    if isinstance(data, (MoleculeDataset, int, np.integer)):
        return data  # type: ignore[return-value]
    return _smiles_of(data)


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
    return core_splits.make_split(
        _as_data(dataset_or_smiles), method, seed, sizes, column_values,
        groupings=groupings(threshold), unit="molecules",
    )  # fmt: skip


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
    return core_splits.kfold(
        _as_data(n_or_dataset), k, method, seed, val_fraction=val_fraction,
        groupings=groupings(threshold), unit="molecules",
    )  # fmt: skip
