"""The MOSES benchmark metrics (Polykovskiy et al., Front. Pharmacol. 2020), reimplemented.

Every metric follows the reference code of ``molsets`` 0.3.1 (``moses/metrics/metrics.py`` and
``utils.py``), not only the paper's prose, because the published numbers come from that code:

* Valid: fraction of strings RDKit parses. Everything below uses the valid ones only.
* Unique@k: distinct canonical SMILES among the first ``k`` valid molecules, over ``k`` (over
  fewer when there are fewer, with a note, as MOSES warns).
* FCD: Frechet ChemNet Distance to the reference set (:mod:`drugforge.molecules.generation.fcd`).
* SNN: mean over generated molecules of the Tanimoto similarity (Morgan r=2, 1024 bits) to the
  nearest reference molecule.
* Frag / Scaf: cosine similarity of BRICS-fragment counts / of counts of Bemis-Murcko scaffolds
  with at least two rings (others dropped, as ``compute_scaffold(min_rings=2)``).
* IntDiv_p: ``1 - mean_y (mean_x T(x, y)^p)^(1/p)`` over all ordered pairs of generated molecules,
  the molecule itself and duplicates included (the code's form; the paper writes the power mean
  over all pairs at once).
* Filters: fraction passing :func:`drugforge.molecules.chem.moses_filters.passes_moses_filters`.
* logP, SA, QED, weight: Wasserstein-1 distance between the property values of the samples and
  of the test set.
* Novelty: fraction of distinct valid canonical SMILES not in the training set (as stored).

Reference statistics (ChemNet mean and covariance, fingerprints, fragment and scaffold counts,
property values) of MOSES' test and scaffold test sets are computed by this module from the CSV
files of the ``molsets`` package and cached as ``.npz`` files (no pickle) in
``$DRUGFORGE_CACHE/moses`` (default ``$XDG_CACHE_HOME/drugforge/moses`` or
``~/.cache/drugforge/moses``); the cache key includes the data file's digest, the RDKit version and
the ChemNet weights' digest. The first run computes them (tens of minutes on two cores, dominated by
ChemNet); later runs load them in a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rdkit
import torch
from rdkit import Chem
from scipy.stats import wasserstein_distance

from drugforge.molecules.chem.moses_features import (
    PROPERTY_NAMES,
    InvalidReferenceSmiles,
    MosesFeatures,
    ProgressFactory,
    describe_molecules,
    moses_mol,
    moses_sample,
)
from drugforge.molecules.chem.moses_filters import moses_package_dir
from drugforge.core.errors import InputError
from drugforge.molecules.generation.fcd import chemnet_statistics, frechet_distance, weights_digest

__all__ = [
    "METRIC_LABELS",
    "METRIC_NAMES",
    "MOSES_PUBLISHED_TRAIN",
    "MOSES_SPLITS",
    "MosesReference",
    "MosesResult",
    "MosesSamples",
    "compute_reference",
    "cosine_similarity",
    "describe_samples",
    "evaluate_moses",
    "fraction_passes_filters",
    "fraction_unique",
    "fraction_valid",
    "internal_diversities",
    "internal_diversity",
    "load_moses_split",
    "load_reference",
    "moses_metrics",
    "nearest_neighbour_similarity",
    "novelty",
    "reference_cache_dir",
    "reference_chemnet_statistics",
    "score_samples",
    "wasserstein",
]

#: MOSES' data splits shipped with molsets
MOSES_SPLITS = ("train", "test", "test_scaffolds")

#: metric keys in the order of MOSES' ``get_all_metrics`` (its key names)
METRIC_NAMES = (
    "valid", "unique@1000", "unique@10000",
    "FCD/Test", "SNN/Test", "Frag/Test", "Scaf/Test",
    "FCD/TestSF", "SNN/TestSF", "Frag/TestSF", "Scaf/TestSF",
    "IntDiv", "IntDiv2", "Filters", "logP", "SA", "QED", "weight", "Novelty",
)  # fmt: skip

#: column titles as the MOSES paper prints them
METRIC_LABELS = {
    "valid": "Valid", "unique@1000": "Unique@1k", "unique@10000": "Unique@10k",
    "FCD/Test": "FCD/Test", "SNN/Test": "SNN/Test", "Frag/Test": "Frag/Test",
    "Scaf/Test": "Scaf/Test", "FCD/TestSF": "FCD/TestSF", "SNN/TestSF": "SNN/TestSF",
    "Frag/TestSF": "Frag/TestSF", "Scaf/TestSF": "Scaf/TestSF", "IntDiv": "IntDiv",
    "IntDiv2": "IntDiv2", "Filters": "Filters", "logP": "logP (W1)", "SA": "SA (W1)",
    "QED": "QED (W1)", "weight": "weight (W1)", "Novelty": "Novelty",
}  # fmt: skip

#: the "Train" row of the MOSES results table (README of molecularsets/moses and Table 2 of the
#: paper; the MOSES repository's data/samples/train_metrics.csv has the unrounded values). The
#: README prints Novelty 1.0 for Train although by MOSES' own definition a sample of the training
#: set has novelty 0; the value is kept as published. No Train row is published for the property
#: distances.
MOSES_PUBLISHED_TRAIN: dict[str, float] = {
    "valid": 1.0, "unique@1000": 1.0, "unique@10000": 1.0,
    "FCD/Test": 0.008, "SNN/Test": 0.6419, "Frag/Test": 1.0, "Scaf/Test": 0.9907,
    "FCD/TestSF": 0.4755, "SNN/TestSF": 0.5859, "Frag/TestSF": 0.9986, "Scaf/TestSF": 0.0,
    "IntDiv": 0.8567, "IntDiv2": 0.8508, "Filters": 1.0, "Novelty": 1.0,
}  # fmt: skip

_FORMAT = 1  # bump when the cached statistics change meaning
_FP_CHUNK = 512  # generated molecules per similarity block
_REF_CHUNK = 32768  # reference molecules per similarity block


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
    env = os.environ.get("DRUGFORGE_CACHE")
    if env:
        return Path(env).expanduser() / "moses"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drugforge" / "moses"


# ------------------------------------------------------------------------- simple metrics
def fraction_valid(smiles: Sequence[str]) -> float:
    """Fraction of ``smiles`` that are valid molecules (MOSES ``fraction_valid``).

    Valid: RDKit parses the string into a molecule with atoms, and its canonical SMILES reads
    back (see :func:`drugforge.molecules.chem.moses_features.moses_sample`).
    """
    if len(smiles) == 0:
        raise ValueError("no samples")
    return sum(moses_sample(s) is not None for s in smiles) / len(smiles)


def fraction_unique(canonical_smiles: Sequence[str], k: int | None = None) -> float:
    """Distinct strings among the first ``k`` (all when ``None``) of ``canonical_smiles``.

    The input must be canonical SMILES of valid molecules (MOSES canonicalizes before counting);
    when fewer than ``k`` are given, all of them are used.
    """
    head = list(canonical_smiles if k is None else canonical_smiles[:k])
    if not head:
        return float("nan")
    return len(set(head)) / len(head)


def novelty(canonical_smiles: Sequence[str], train: Sequence[str] | set[str]) -> float:
    """Fraction of the distinct ``canonical_smiles`` that are not in ``train`` (MOSES ``novelty``)."""
    distinct = set(canonical_smiles)
    if not distinct:
        return float("nan")
    train_set = train if isinstance(train, set) else set(train)
    return len(distinct - train_set) / len(distinct)


def cosine_similarity(ref_counts: Mapping[str, int], gen_counts: Mapping[str, int]) -> float:
    """Cosine similarity of two count vectors given as ``{key: count}`` (missing keys are 0).

    NaN when either is empty (MOSES ``cos_similarity``).
    """
    if not ref_counts or not gen_counts:
        return float("nan")
    dot = float(sum(count * gen_counts.get(key, 0) for key, count in ref_counts.items()))
    norm_ref = math.sqrt(sum(float(c) ** 2 for c in ref_counts.values()))
    norm_gen = math.sqrt(sum(float(c) ** 2 for c in gen_counts.values()))
    return dot / (norm_ref * norm_gen)


def fraction_passes_filters(passes: np.ndarray | Sequence[bool]) -> float:
    """Mean of per-molecule filter results (see ``passes_moses_filters``)."""
    values = np.asarray(passes, dtype=bool)
    return float(values.mean()) if values.size else float("nan")


def wasserstein(ref_values: np.ndarray, gen_values: np.ndarray) -> float:
    """Wasserstein-1 distance between two samples of a property (MOSES ``WassersteinMetric``)."""
    if len(ref_values) == 0 or len(gen_values) == 0:
        return float("nan")
    return float(wasserstein_distance(ref_values, gen_values))


# ----------------------------------------------------------------------- Tanimoto blocks
_INT_MM_OK: list[bool] = [hasattr(torch, "_int_mm")]


def _unpack(packed: np.ndarray) -> torch.Tensor:
    """(n, 128) packed uint8 -> (n, 1024) int8 0/1."""
    bits = np.unpackbits(np.ascontiguousarray(packed, dtype=np.uint8), axis=1)
    return torch.from_numpy(bits.view(np.int8))


def _intersections(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Common on-bits of every pair: ``a (m, d) int8, b (n, d) int8 -> (m, n) float32`` exact."""
    if _INT_MM_OK[0]:
        try:
            # int8 x int8 -> int32 on the CPU's integer dot-product units: exact and ~3x faster
            # than a float32 product here (measured in benchmarks/moses_reference.py notes)
            return torch._int_mm(a, b.T).float()
        except RuntimeError:
            _INT_MM_OK[0] = False
    return a.float() @ b.float().T  # sums of at most 1024 ones: exact in float32


def _tanimoto(a: torch.Tensor, b: torch.Tensor, na: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
    """Tanimoto similarities ``(m, n)`` float32, computed as MOSES does (0/0 -> 1)."""
    inter = _intersections(a, b)
    sim = inter / (na[:, None] + nb[None, :] - inter)
    return torch.nan_to_num_(sim, nan=1.0)


def _check_fps(fps: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(fps)
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise ValueError(f"{what}: expected packed fingerprints (n, bytes) uint8, got {arr.dtype}")
    return arr


def nearest_neighbour_similarity(
    gen_fps: np.ndarray, ref_fps: np.ndarray, *, progress: ProgressFactory | None = None
) -> float:
    """SNN: mean over ``gen_fps`` of the highest Tanimoto similarity to any of ``ref_fps``.

    Both are packed fingerprints as ``MosesFeatures.fingerprints`` holds them.
    """
    gen = _unpack(_check_fps(gen_fps, "gen_fps"))
    ref = _unpack(_check_fps(ref_fps, "ref_fps"))
    if len(gen) == 0 or len(ref) == 0:
        return float("nan")
    n_gen = gen.sum(1, dtype=torch.float32)
    n_ref = ref.sum(1, dtype=torch.float32)
    best = torch.zeros(len(gen), dtype=torch.float32)
    bar = progress(len(gen), "SNN") if progress is not None else None
    try:
        for i in range(0, len(gen), _FP_CHUNK):
            g, ng = gen[i : i + _FP_CHUNK], n_gen[i : i + _FP_CHUNK]
            for j in range(0, len(ref), _REF_CHUNK):
                sim = _tanimoto(g, ref[j : j + _REF_CHUNK], ng, n_ref[j : j + _REF_CHUNK])
                torch.maximum(best[i : i + len(g)], sim.max(dim=1).values, out=best[i : i + len(g)])
            if bar is not None:
                bar.update(len(g))
    finally:
        if bar is not None:
            bar.close()
    return float(best.double().mean())


def internal_diversities(
    fps: np.ndarray, ps: Sequence[int] = (1, 2), *, progress: ProgressFactory | None = None
) -> list[float]:
    """IntDiv_p for each ``p`` in ``ps``, in one pass over all pairs (see the module docstring)."""
    mols = _unpack(_check_fps(fps, "fps"))
    n = len(mols)
    if n == 0:
        return [float("nan")] * len(ps)
    counts = mols.sum(1, dtype=torch.float32)
    sums = torch.zeros(len(ps), n, dtype=torch.float64)
    bar = progress(n, "IntDiv") if progress is not None else None
    try:
        for i in range(0, n, _FP_CHUNK):
            block, nb = mols[i : i + _FP_CHUNK], counts[i : i + _FP_CHUNK]
            for j in range(0, n, _REF_CHUNK):
                sim = _tanimoto(block, mols[j : j + _REF_CHUNK], nb, counts[j : j + _REF_CHUNK])
                for k, p in enumerate(ps):
                    powered = sim if p == 1 else sim.pow(p)
                    sums[k, i : i + len(block)] += powered.sum(dim=1, dtype=torch.float64)
            if bar is not None:
                bar.update(len(block))
    finally:
        if bar is not None:
            bar.close()
    out = []
    for k, p in enumerate(ps):
        per_mol = (sums[k] / n) ** (1.0 / p)
        out.append(1.0 - float(per_mol.mean()))
    return out


def internal_diversity(fps: np.ndarray, p: int = 1) -> float:
    """IntDiv_p of a set of packed fingerprints (``1 - mean_y (mean_x T(x,y)^p)^(1/p)``)."""
    return internal_diversities(fps, (p,))[0]


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


# ----------------------------------------------------------------------------- all metrics
@dataclass
class MosesResult:
    """The metrics of one sample set, with timings and notes.

    Attributes
    ----------
    metrics : metric name (MOSES keys, :data:`METRIC_NAMES`) -> value.
    seconds : wall seconds per step (metric names, plus ``features``, ``chemnet`` and the
        reference/train loading steps).
    feature_stage_seconds : per-molecule work by stage (wall clock inside the workers, summed).
    n_samples, n_valid : input strings and valid molecules among them.
    notes : what a reader must know (fewer samples than ``k``, ...).
    """

    metrics: dict[str, float]
    seconds: dict[str, float]
    feature_stage_seconds: dict[str, float]
    n_samples: int
    n_valid: int
    notes: list[str] = field(default_factory=list)


ReferenceInput = MosesReference | Sequence[str] | None


def _resolve_reference(
    ref: ReferenceInput,
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None,
    n_jobs: int,
    batch_size: int,
    progress: ProgressFactory | None,
) -> MosesReference:
    if isinstance(ref, MosesReference):
        return ref
    if ref is None:
        return load_reference(
            name, cache_dir=cache_dir, n_jobs=n_jobs, batch_size=batch_size, progress=progress
        )
    return compute_reference(
        list(ref), name, n_jobs=n_jobs, batch_size=batch_size, progress=progress
    )


@dataclass
class MosesSamples:
    """Generated strings described once, ready to be scored against any reference.

    Attributes
    ----------
    features : per-molecule results (:class:`~drugforge.molecules.chem.moses_features.MosesFeatures`).
    fcd_mu, fcd_sigma : ChemNet statistics of the valid molecules.
    seconds : wall seconds of the two steps (``features``, ``chemnet``).
    """

    features: MosesFeatures
    fcd_mu: np.ndarray
    fcd_sigma: np.ndarray
    seconds: dict[str, float]


def describe_samples(
    samples: Sequence[str],
    *,
    n_jobs: int = 1,
    batch_size: int = 512,
    progress: ProgressFactory | None = None,
) -> MosesSamples:
    """Parse, describe and run ChemNet on ``samples`` (invalid strings included).

    Raises
    ------
    InputError
        When ``samples`` is empty or contains no valid molecule.
    """
    if len(samples) == 0:
        raise InputError("no samples to evaluate")
    t = time.perf_counter()
    feats = describe_molecules(samples, n_jobs=n_jobs, progress=progress, label="samples")
    seconds = {"features": time.perf_counter() - t}
    n_valid = len(feats.smiles)
    if n_valid == 0:
        raise InputError(f"none of the {feats.n_input} samples is a valid molecule")
    t = time.perf_counter()
    bar = progress(n_valid, "ChemNet samples") if progress is not None else None
    try:
        mu, sigma = chemnet_statistics(
            feats.smiles,
            canonicalize=False,  # canonical already: the strings fcd_torch feeds ChemNet
            batch_size=batch_size,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    seconds["chemnet"] = time.perf_counter() - t
    return MosesSamples(features=feats, fcd_mu=mu, fcd_sigma=sigma, seconds=seconds)


def score_samples(
    described: MosesSamples,
    *,
    test: MosesReference,
    test_scaffolds: MosesReference,
    train: Sequence[str] | set[str],
    k: Sequence[int] = (1000, 10000),
    progress: ProgressFactory | None = None,
) -> MosesResult:
    """Every MOSES metric of described samples against given references (no file access)."""
    feats = described.features
    seconds = dict(described.seconds)
    notes: list[str] = []
    metrics: dict[str, float] = {}

    def timed(label: str, start: float) -> None:
        seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - start

    n_valid = len(feats.smiles)
    metrics["valid"] = n_valid / feats.n_input
    for kk in k:
        if n_valid < kk:
            notes.append(f"unique@{kk} computed over {n_valid} valid molecules (fewer than {kk})")
        metrics[f"unique@{kk}"] = fraction_unique(feats.smiles, kk)
    if n_valid < 2:
        notes.append("FCD needs at least 2 valid molecules: NaN")

    for suffix, ref in (("Test", test), ("TestSF", test_scaffolds)):
        t = time.perf_counter()
        metrics[f"FCD/{suffix}"] = frechet_distance(
            ref.fcd_mu, ref.fcd_sigma, described.fcd_mu, described.fcd_sigma
        )
        timed(f"FCD/{suffix}", t)
        t = time.perf_counter()
        metrics[f"SNN/{suffix}"] = nearest_neighbour_similarity(
            feats.fingerprints, ref.fingerprints, progress=progress
        )
        timed(f"SNN/{suffix}", t)
        t = time.perf_counter()
        metrics[f"Frag/{suffix}"] = cosine_similarity(ref.fragments, feats.fragments)
        timed(f"Frag/{suffix}", t)
        t = time.perf_counter()
        metrics[f"Scaf/{suffix}"] = cosine_similarity(ref.scaffolds, feats.scaffolds)
        timed(f"Scaf/{suffix}", t)

    t = time.perf_counter()
    metrics["IntDiv"], metrics["IntDiv2"] = internal_diversities(
        feats.fingerprints, (1, 2), progress=progress
    )
    timed("IntDiv", t)
    if feats.passes_filters is None:
        raise ValueError("samples were described as a reference set (no filter results)")
    metrics["Filters"] = fraction_passes_filters(feats.passes_filters)
    for prop in PROPERTY_NAMES:
        t = time.perf_counter()
        metrics[prop] = wasserstein(test.properties[prop], feats.properties[prop])
        timed(prop, t)
    t = time.perf_counter()
    metrics["Novelty"] = novelty(feats.smiles, train)
    timed("Novelty", t)
    ordered = {name: metrics[name] for name in METRIC_NAMES if name in metrics}
    ordered.update({name: value for name, value in metrics.items() if name not in ordered})
    return MosesResult(
        metrics=ordered,
        seconds=seconds,
        feature_stage_seconds=feats.stage_seconds,
        n_samples=feats.n_input,
        n_valid=n_valid,
        notes=notes,
    )


def evaluate_moses(
    samples: Sequence[str],
    *,
    test: ReferenceInput = None,
    test_scaffolds: ReferenceInput = None,
    train: Sequence[str] | set[str] | None = None,
    k: Sequence[int] = (1000, 10000),
    n_jobs: int = 1,
    batch_size: int = 512,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: ProgressFactory | None = None,
) -> MosesResult:
    """Every MOSES metric of ``samples`` (generated strings, invalid ones included).

    Parameters
    ----------
    samples
        Generated strings in sampling order.
    test, test_scaffolds
        Reference sets: ``None`` for MOSES' own (cached statistics), a list of SMILES, or a
        :class:`MosesReference`.
    train
        Training SMILES for novelty; ``None`` for MOSES' training set.
    k
        The ``k`` of Unique@k.
    n_jobs
        Worker processes for the per-molecule work (``-1``: all cores).
    batch_size
        ChemNet batch size.
    cache_dir
        Folder of cached reference statistics (default :func:`reference_cache_dir`).
    progress
        Progress bar factory (``drugforge.core.progress.Progress`` fits); ``None``: silent.

    Raises
    ------
    InputError
        When ``samples`` is empty or contains no valid molecule.
    """
    described = describe_samples(samples, n_jobs=n_jobs, batch_size=batch_size, progress=progress)
    t = time.perf_counter()
    kwargs: dict[str, Any] = {
        "cache_dir": cache_dir, "n_jobs": n_jobs, "batch_size": batch_size, "progress": progress
    }  # fmt: skip
    test_ref = _resolve_reference(test, "test", **kwargs)
    scaffold_ref = _resolve_reference(test_scaffolds, "test_scaffolds", **kwargs)
    described.seconds["reference statistics"] = time.perf_counter() - t
    t = time.perf_counter()
    train_set = set(load_moses_split("train")) if train is None else train
    described.seconds["train set"] = time.perf_counter() - t
    return score_samples(
        described, test=test_ref, test_scaffolds=scaffold_ref, train=train_set, k=k,
        progress=progress,
    )  # fmt: skip


def moses_metrics(
    samples: Sequence[str],
    *,
    test: ReferenceInput = None,
    test_scaffolds: ReferenceInput = None,
    train: Sequence[str] | set[str] | None = None,
    k: Sequence[int] = (1000, 10000),
    n_jobs: int = 1,
    batch_size: int = 512,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, float]:
    """MOSES' ``get_all_metrics``: metric name -> value (see :func:`evaluate_moses`)."""
    return evaluate_moses(
        samples, test=test, test_scaffolds=test_scaffolds, train=train, k=k, n_jobs=n_jobs,
        batch_size=batch_size, cache_dir=cache_dir,
    ).metrics  # fmt: skip
