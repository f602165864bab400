"""Batch featurization: the one place that owns parallelism, caching and the bad-molecule policy.

Policy: an invalid molecule raises :class:`~drugforge.core.errors.InvalidSmilesError` naming its 1-based
position; nothing is silently turned into a zero vector. Callers that must keep going (screening)
validate SMILES first and featurize the valid rows.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np
from rdkit import Chem

from drugforge.core.engine import parallel_map, resolve_jobs
from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.featurize.base import Featurizer, get_featurizer, mol_from_smiles

__all__ = [
    "cache_info",
    "clear_cache",
    "featurize",
    "featurize_many",
    "set_cache_limit",
]

MolOrSmiles = str | Chem.Mol

#: Process parallelism is considered only for at least this many uncached molecules ...
PARALLEL_MIN_ITEMS = 2000
#: ... and only when the serial time, estimated on a probe of the first molecules, exceeds this
#: (spawning workers that import RDKit costs about a second each; cheap fingerprints never pay).
PARALLEL_MIN_SECONDS = 3.0
_PROBE = 64


# --------------------------------------------------------------------------------------- cache
class _FeatureCache:
    """Thread-safe LRU of feature rows keyed by (featurizer key, SMILES), bounded in bytes.

    Sparse rows (fingerprints) are stored as (indices, values): ~100x smaller than dense float32.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._rows: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray | None]] = (
            OrderedDict()
        )
        self._nbytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _size(entry: tuple[np.ndarray, np.ndarray | None]) -> int:
        a, b = entry
        return a.nbytes + (0 if b is None else b.nbytes) + 64

    def get(self, key: tuple[str, str], dim: int, out: np.ndarray) -> bool:
        """Write the cached row for ``key`` into ``out`` (zeroed, length ``dim``); hit or miss."""
        with self._lock:
            entry = self._rows.get(key)
            if entry is None:
                self.misses += 1
                return False
            self._rows.move_to_end(key)
            self.hits += 1
        idx, vals = entry
        if vals is None:
            out[:] = idx
        else:
            out[idx] = vals
        return True

    def put(self, key: tuple[str, str], row: np.ndarray) -> None:
        if self.max_bytes <= 0:
            return
        nz = np.flatnonzero(row)
        entry: tuple[np.ndarray, np.ndarray | None]
        if nz.size * 8 < row.nbytes:  # index+value pairs are smaller than the dense row
            idx_dtype = np.uint16 if row.size <= np.iinfo(np.uint16).max else np.uint32
            entry = (nz.astype(idx_dtype), row[nz].copy())
        else:
            entry = (row.copy(), None)
        size = self._size(entry)
        with self._lock:
            old = self._rows.pop(key, None)
            if old is not None:
                self._nbytes -= self._size(old)
            self._rows[key] = entry
            self._nbytes += size
            while self._nbytes > self.max_bytes and self._rows:
                _, dropped = self._rows.popitem(last=False)
                self._nbytes -= self._size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._nbytes = 0
            self.hits = 0
            self.misses = 0

    def info(self) -> dict[str, int]:
        with self._lock:
            return {
                "entries": len(self._rows),
                "bytes": self._nbytes,
                "max_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
            }


_CACHE = _FeatureCache(max_bytes=512 * 2**20)


def clear_cache() -> None:
    """Empty the in-memory feature cache."""
    _CACHE.clear()


def set_cache_limit(max_bytes: int) -> None:
    """Bound the feature cache to ``max_bytes`` (0 disables caching); evicts as needed."""
    _CACHE.max_bytes = int(max_bytes)
    if max_bytes <= 0:
        _CACHE.clear()


@contextmanager
def feature_cache_disabled() -> Iterator[None]:
    """No caching inside the block (a library screen sees each molecule once: caching would
    only cost memory and a canonical SMILES per molecule)."""
    previous = _CACHE.max_bytes
    _CACHE.max_bytes = 0
    try:
        yield
    finally:
        _CACHE.max_bytes = previous


def cache_info() -> dict[str, int]:
    """Entries, bytes used, byte limit, hits and misses of the feature cache."""
    return _CACHE.info()


# ------------------------------------------------------------------------------------ workers
def _to_mol(item: Any) -> Chem.Mol | None:
    if isinstance(item, Chem.Mol):
        return item if item.GetNumAtoms() > 0 else None
    if isinstance(item, str):
        return mol_from_smiles(item)
    return None


def _featurize_items(featurizer: Featurizer, items: Sequence[Any]) -> tuple[np.ndarray, int]:
    """Featurize ``items``; return (rows, index of the first invalid item or -1)."""
    dim = len(featurizer)
    out = np.zeros((len(items), dim), dtype=np.float32)
    for i, item in enumerate(items):
        mol = _to_mol(item)
        if mol is None:
            return out[:i], i
        row = np.asarray(featurizer(mol), dtype=np.float32)
        if row.shape != (dim,):
            raise RuntimeError(
                f"featurizer {featurizer.name!r} returned shape {row.shape}, expected ({dim},)"
            )
        out[i] = row
    return out, -1


def _featurize_parallel(
    featurizer: Featurizer, items: Sequence[Any], n_jobs: int
) -> tuple[np.ndarray, int]:
    n = len(items)
    chunk = max(64, -(-n // (n_jobs * 4)))  # ~4 chunks per worker balances uneven molecules
    starts = list(range(0, n, chunk))
    # the featurizer travels to the spawned workers by pickle, with each chunk
    chunks = [list(items[s : s + chunk]) for s in starts]
    parts = list(parallel_map(partial(_featurize_items, featurizer), chunks, n_jobs))
    out = np.zeros((n, len(featurizer)), dtype=np.float32)
    for s, (rows, bad) in zip(starts, parts, strict=True):
        if bad >= 0:
            return out[:s], s + bad
        out[s : s + len(rows)] = rows
    return out, -1


def _invalid(item: Any, position: int) -> InvalidSmilesError:
    if isinstance(item, Chem.Mol):
        text = "an empty molecule"
    elif isinstance(item, str):
        text = f"SMILES {item!r}"
    else:
        return InvalidSmilesError(
            f"invalid entry {item!r} at position {position} (expected a SMILES string or RDKit Mol)"
        )
    return InvalidSmilesError(f"invalid {text} at position {position}")


class _InvalidAt(Exception):
    """Internal: the entry at ``index`` (within the computed list) is not a valid molecule."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _checked(result: tuple[np.ndarray, int], offset: int = 0) -> np.ndarray:
    rows, bad = result
    if bad >= 0:
        raise _InvalidAt(offset + bad)
    return rows


def _compute(featurizer: Featurizer, items: list[Any], n_jobs: int) -> np.ndarray:
    """Featurize ``items``; raises :class:`_InvalidAt` for the first invalid one."""
    n = len(items)
    jobs = resolve_jobs(n_jobs)
    if jobs == 1 or n < PARALLEL_MIN_ITEMS:
        return _checked(_featurize_items(featurizer, items))
    # Time a probe serially: only slow featurizers (descriptors) repay starting workers.
    t0 = time.perf_counter()
    head = _checked(_featurize_items(featurizer, items[:_PROBE]))
    per_item = (time.perf_counter() - t0) / max(1, len(head))
    rest = items[len(head) :]
    if per_item * len(rest) >= PARALLEL_MIN_SECONDS:
        tail = _checked(_featurize_parallel(featurizer, rest, jobs), offset=len(head))
    else:
        tail = _checked(_featurize_items(featurizer, rest), offset=len(head))
    return np.concatenate([head, tail], axis=0)


# -------------------------------------------------------------------------------------- public
def featurize(
    featurizer: Featurizer | str,
    mols_or_smiles: Sequence[MolOrSmiles],
    n_jobs: int = 1,
    *,
    cache: bool = True,
) -> np.ndarray:
    """Featurize molecules into an ``(n, len(featurizer))`` float32 array.

    Parameters
    ----------
    featurizer
        A :class:`Featurizer` or a registered name (default parameters).
    mols_or_smiles
        SMILES strings and/or RDKit ``Mol`` objects.
    n_jobs
        Worker processes for large uncached inputs (``-1``: all cores). Results equal serial ones.
    cache
        Reuse and store rows in the in-memory LRU cache keyed by (featurizer, SMILES), so
        repeated cross-validation folds featurize each molecule once.

    Raises
    ------
    InvalidSmilesError
        For the first invalid entry, naming its 1-based position.
    """
    feat = get_featurizer(featurizer) if isinstance(featurizer, str) else featurizer
    if isinstance(mols_or_smiles, (str, Chem.Mol)):
        raise TypeError("featurize expects a sequence of molecules, not a single one")
    items = list(mols_or_smiles)
    n, dim = len(items), len(feat)
    out = np.zeros((n, dim), dtype=np.float32)
    if n == 0:
        return out
    fkey = feat.cache_key()
    use_cache = cache and _CACHE.max_bytes > 0
    if not use_cache and all(
        isinstance(item, str) or (isinstance(item, Chem.Mol) and item.GetNumAtoms() > 0)
        for item in items
    ):  # no cache keys to compute (a Mol's key costs a canonical SMILES): featurize directly
        try:
            return _compute(feat, items, n_jobs)
        except _InvalidAt as err:
            raise _invalid(items[err.index], err.index + 1) from None

    # Resolve cache keys; unique misses are computed once even when repeated in the input.
    keys: list[str] = []
    miss_first: dict[str, int] = {}
    miss_positions: list[int] = []
    bad_type = -1  # first entry that is neither a SMILES string nor a non-empty Mol
    for i, item in enumerate(items):
        if isinstance(item, Chem.Mol) and item.GetNumAtoms() > 0:
            key = Chem.MolToSmiles(item)
        elif isinstance(item, str):
            key = item
        else:
            bad_type = i
            break
        keys.append(key)
        if use_cache and _CACHE.get((fkey, key), dim, out[i]):
            continue
        if key in miss_first:
            continue
        miss_first[key] = i
        miss_positions.append(i)

    if miss_positions:
        todo = [items[i] for i in miss_positions]
        try:
            rows = _compute(feat, todo, n_jobs)
        except _InvalidAt as err:  # first invalid entry among the misses
            pos = miss_positions[err.index]
            raise _invalid(items[pos], pos + 1) from None
        if bad_type >= 0:  # every entry before it is valid: it is the first bad one
            raise _invalid(items[bad_type], bad_type + 1)
        for pos, row in zip(miss_positions, rows, strict=True):
            out[pos] = row
            if use_cache:
                _CACHE.put((fkey, keys[pos]), row)
        # entries repeating a computed SMILES get a copy of its row
        for i, key in enumerate(keys):
            src = miss_first.get(key)
            if src is not None and src != i:
                out[i] = out[src]
    if bad_type >= 0:
        raise _invalid(items[bad_type], bad_type + 1)
    return out


def featurize_many(
    featurizers: Sequence[Featurizer],
    mols_or_smiles: Sequence[MolOrSmiles],
    n_jobs: int = 1,
    *,
    cache: bool = True,
) -> np.ndarray:
    """Concatenate the features of several featurizers column-wise, ``(n, sum of lengths)``."""
    if not featurizers:
        raise ValueError("featurize_many needs at least one featurizer")
    items = list(mols_or_smiles)
    blocks = [featurize(f, items, n_jobs=n_jobs, cache=cache) for f in featurizers]
    return blocks[0] if len(blocks) == 1 else np.hstack(blocks)
