"""Reference statistics of MOSES' test and scaffold test sets: computed, cached, loaded.

The statistics (ChemNet mean and covariance, fingerprints, fragment and scaffold counts, property
values; MOSES' ``compute_intermediate_statistics``) are computed from the CSV files of the
``molsets`` package and cached as ``.npz`` files (no pickle) in ``$DRUGFORGE_CACHE/moses``
(default ``$XDG_CACHE_HOME/drugforge/moses`` or ``~/.cache/drugforge/moses``); the cache key
includes the data file's digest, the RDKit version and the ChemNet weights' digest. The first run
computes them (tens of minutes on two cores, dominated by ChemNet); later runs load them in a
second. The metrics that use them are in :mod:`drugforge.molecules.generation.moses`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rdkit
from rdkit import Chem

from drugforge.core.cache import cache_dir as default_cache_dir
from drugforge.core.errors import InputError
from drugforge.molecules.chem.moses_features import (
    PROPERTY_NAMES,
    InvalidReferenceSmiles,
    MosesFeatures,
    ProgressFactory,
    describe_molecules,
    moses_mol,
)
from drugforge.molecules.chem.moses_filters import moses_package_dir
from drugforge.molecules.generation.fcd import chemnet_statistics, weights_digest

__all__ = [
    "MOSES_SPLITS",
    "MosesReference",
    "compute_reference",
    "load_moses_split",
    "load_reference",
    "reference_cache_dir",
    "reference_chemnet_statistics",
]

#: MOSES' data splits shipped with molsets
MOSES_SPLITS = ("train", "test", "test_scaffolds")

_FORMAT = 1  # bump when the cached statistics change meaning


# ------------------------------------------------------------------------------------ data
def load_moses_split(name: str) -> list[str]:
    """SMILES of a MOSES split (``train``, ``test`` or ``test_scaffolds``) from molsets' files."""
    return _read_smiles_csv(_split_path(name))


def _split_path(name: str) -> Path:
    if name not in MOSES_SPLITS:
        raise InputError(f"unknown MOSES split '{name}'; choose from: {', '.join(MOSES_SPLITS)}")
    path = moses_package_dir() / "dataset" / "data" / f"{name}.csv.gz"
    if not path.is_file():
        raise InputError("MOSES data file missing; reinstall molsets==0.3.1", path=path)
    return path


def _read_smiles_csv(path: Path) -> list[str]:
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    if "SMILES" not in frame.columns:
        raise InputError("no SMILES column", path=path)
    return frame["SMILES"].tolist()


def reference_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the cached reference statistics (see the module docstring)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return default_cache_dir("moses")



# --------------------------------------------------------------------- reference statistics
@dataclass
class MosesReference:
    """Statistics of a reference set (MOSES' ``compute_intermediate_statistics``)."""

    name: str
    n: int
    fcd_mu: np.ndarray
    fcd_sigma: np.ndarray
    fingerprints: np.ndarray
    fragments: Counter[str]
    scaffolds: Counter[str]
    properties: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)


def compute_reference(
    smiles: Sequence[str],
    name: str = "reference",
    *,
    n_jobs: int = 1,
    batch_size: int = 512,
    progress: ProgressFactory | None = None,
    source: str | os.PathLike[str] | None = None,
    lines: Sequence[int] | None = None,
) -> MosesReference:
    """Reference statistics of ``smiles``; every SMILES must be valid.

    Raises
    ------
    InputError
        For the first invalid SMILES, naming ``source`` (a file) and the entry's line there
        (``lines[i]``; default ``i + 2``, a CSV with a header) when given, else its position.
    """
    feats = _describe_reference(
        smiles, name, n_jobs=n_jobs, progress=progress, source=source, lines=lines
    )
    mu, sigma = _reference_chemnet(feats.smiles, name, batch_size=batch_size, progress=progress)
    return MosesReference(
        name=name,
        n=feats.n_input,
        fcd_mu=mu,
        fcd_sigma=sigma,
        fingerprints=feats.fingerprints,
        fragments=feats.fragments,
        scaffolds=feats.scaffolds,
        properties=feats.properties,
    )


def _describe_reference(
    smiles: Sequence[str],
    name: str,
    *,
    n_jobs: int,
    progress: ProgressFactory | None,
    source: str | os.PathLike[str] | None,
    lines: Sequence[int] | None = None,
) -> MosesFeatures:
    try:
        return describe_molecules(
            smiles, reference=True, n_jobs=n_jobs, progress=progress, label=f"{name} molecules"
        )
    except InvalidReferenceSmiles as err:
        line = None
        if source is not None:
            # default: a CSV with a header, whose data row i is on line i + 2
            line = lines[err.index] if lines is not None else err.index + 2
        where = "" if source is not None else f" (position {err.index + 1})"
        raise InputError(
            f"invalid SMILES '{err.smiles[:80]}' in the {name} set{where}", path=source, line=line
        ) from None


def _reference_chemnet(
    canonical: Sequence[str], name: str, *, batch_size: int, progress: ProgressFactory | None
) -> tuple[np.ndarray, np.ndarray]:
    bar = progress(len(canonical), f"ChemNet {name}") if progress is not None else None
    try:
        return chemnet_statistics(
            canonical,
            canonicalize=False,  # already canonical: the string fcd_torch feeds ChemNet
            batch_size=batch_size,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _cache_paths(name: str, cache_dir: Path) -> tuple[Path, Path, dict[str, Any]]:
    source = _split_path(name)
    key = {
        "split": name,
        "source_sha256_16": _digest(source),
        "rdkit": rdkit.__version__,
        "chemnet_sha256_16": weights_digest(),
        "format": _FORMAT,
    }
    stem = f"{name}-{key['source_sha256_16']}-rdkit{rdkit.__version__}-v{_FORMAT}"
    features = cache_dir / f"{stem}-features.npz"
    chemnet = cache_dir / f"{stem}-chemnet{key['chemnet_sha256_16']}.npz"
    return features, chemnet, key


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def _counter_arrays(prefix: str, counts: Counter[str]) -> dict[str, np.ndarray]:
    keys = sorted(counts)
    return {
        f"{prefix}_keys": np.asarray(keys, dtype=np.str_),
        f"{prefix}_counts": np.asarray([counts[k] for k in keys], dtype=np.int64),
    }


def _counter_from(data: Any, prefix: str) -> Counter[str]:
    keys = data[f"{prefix}_keys"].tolist()
    counts = data[f"{prefix}_counts"].tolist()
    return Counter(dict(zip(keys, counts, strict=True)))


def _load_npz(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError):
        return None  # missing or damaged: recompute


def load_reference(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    n_jobs: int = 1,
    batch_size: int = 512,
    progress: ProgressFactory | None = None,
    rebuild: bool = False,
) -> MosesReference:
    """Statistics of MOSES' ``test`` or ``test_scaffolds`` set, from the cache or computed.

    The fingerprint/fragment/scaffold/property part and the ChemNet part are cached separately,
    so an interrupted first run keeps what it finished.
    """
    if name not in ("test", "test_scaffolds"):
        raise InputError(f"unknown MOSES reference '{name}'; choose from: test, test_scaffolds")
    folder = reference_cache_dir(cache_dir)
    feat_path, chem_path, key = _cache_paths(name, folder)
    smiles: list[str] | None = None
    feats = None if rebuild else _load_npz(feat_path)
    if feats is None or json.loads(str(feats["meta"])) != key:
        smiles = load_moses_split(name)
        described = _describe_reference(
            smiles, name, n_jobs=n_jobs, progress=progress, source=str(_split_path(name))
        )
        feats = {
            "meta": np.asarray(json.dumps(key)),
            "fingerprints": described.fingerprints,
            "canonical": np.asarray(described.smiles, dtype=np.str_),
            **_counter_arrays("fragments", described.fragments),
            **_counter_arrays("scaffolds", described.scaffolds),
            **{f"prop_{p}": described.properties[p] for p in PROPERTY_NAMES},
        }
        _save_npz(feat_path, feats)
    canonical = feats["canonical"]
    mu, sigma = reference_chemnet_statistics(
        name,
        cache_dir=cache_dir,
        batch_size=batch_size,
        progress=progress,
        rebuild=rebuild,
        canonical=lambda: canonical.tolist(),
    )
    return MosesReference(
        name=name,
        n=int(feats["fingerprints"].shape[0]),
        fcd_mu=mu,
        fcd_sigma=sigma,
        fingerprints=feats["fingerprints"],
        fragments=_counter_from(feats, "fragments"),
        scaffolds=_counter_from(feats, "scaffolds"),
        properties={p: feats[f"prop_{p}"] for p in PROPERTY_NAMES},
        meta={**key, "features_file": str(feat_path), "chemnet_file": str(chem_path)},
    )


def reference_chemnet_statistics(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 512,
    progress: ProgressFactory | None = None,
    rebuild: bool = False,
    canonical: Callable[[], list[str]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ChemNet mean and covariance of MOSES' ``test`` or ``test_scaffolds`` set (cached).

    ``canonical`` supplies the canonical SMILES when the caller has them; by default the split is
    read and canonicalized here (the same strings: RDKit's canonical SMILES of each entry). This
    part is the slow one (ChemNet on 176k molecules) and can run apart from the rest.
    """
    folder = reference_cache_dir(cache_dir)
    _, chem_path, key = _cache_paths(name, folder)
    chem = None if rebuild else _load_npz(chem_path)
    if chem is not None and json.loads(str(chem["meta"])) == key:
        return chem["mu"], chem["sigma"]
    if canonical is not None:
        texts = canonical()
    else:
        texts = [_reference_canonical(s, i, name) for i, s in enumerate(load_moses_split(name))]
    mu, sigma = _reference_chemnet(texts, name, batch_size=batch_size, progress=progress)
    _save_npz(chem_path, {"meta": np.asarray(json.dumps(key)), "mu": mu, "sigma": sigma})
    return mu, sigma


def _reference_canonical(smiles: str, index: int, name: str) -> str:
    mol = moses_mol(smiles)
    if mol is None:
        raise InputError(
            f"invalid SMILES '{smiles[:80]}' in the {name} set",
            path=_split_path(name),
            line=index + 2,
        )
    return str(Chem.MolToSmiles(mol))
