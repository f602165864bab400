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

Reference statistics of MOSES' test and scaffold test sets (computed once from the ``molsets``
data files and cached) are in :mod:`drugforge.molecules.generation.moses_reference`; the Tanimoto
blocks behind SNN and IntDiv in :mod:`drugforge.molecules.generation.moses_similarity`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance

from drugforge.core.errors import InputError
from drugforge.molecules.chem.moses_features import (
    PROPERTY_NAMES,
    MosesFeatures,
    ProgressFactory,
    describe_molecules,
    moses_sample,
)
from drugforge.molecules.generation.fcd import chemnet_statistics, frechet_distance
from drugforge.molecules.generation.moses_reference import (
    MosesReference,
    compute_reference,
    load_moses_split,
    load_reference,
)
from drugforge.molecules.generation.moses_similarity import (
    internal_diversities,
    nearest_neighbour_similarity,
)

__all__ = [
    "METRIC_LABELS",
    "METRIC_NAMES",
    "MOSES_PUBLISHED_TRAIN",
    "MosesResult",
    "MosesSamples",
    "cosine_similarity",
    "describe_samples",
    "evaluate_moses",
    "fraction_passes_filters",
    "fraction_unique",
    "fraction_valid",
    "moses_metrics",
    "novelty",
    "score_samples",
    "wasserstein",
]

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
