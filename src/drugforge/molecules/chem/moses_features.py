"""Per-molecule work behind the MOSES metrics, in one pass over a list of SMILES (RDKit only).

For each SMILES this computes what MOSES (``moses/metrics``) derives from a molecule: validity,
canonical SMILES, the Morgan fingerprint (radius 2, 1024 bits, as ``fingerprint(fp_type='morgan')``
), BRICS fragments (``fragmenter``), the Bemis-Murcko scaffold with at least two rings
(``compute_scaffold``), the filters (``mol_passes_filters``) and logP, SA, QED and molecular
weight. Doing it in one pass parses each molecule once and lets ``n_jobs`` worker processes share
the whole job; this module imports no torch so workers start quickly.

Two modes, as in MOSES:

* samples (``reference=False``): a string is valid when RDKit parses it into a molecule with atoms;
  its canonical SMILES is parsed again and that molecule is the one described (MOSES' ``mols =
  get_mol(remove_invalid(gen, canonize=True))``); ``smiles`` holds the canonical SMILES of that
  molecule (what MOSES' unique@k, novelty and FCD see). A canonical SMILES that RDKit cannot read
  back (a rare round-trip failure on which MOSES itself crashes) counts as invalid.
* reference sets (``reference=True``): each SMILES must parse; its molecule is described as read
  and ``smiles`` holds its canonical SMILES (the FCD input); filters are not computed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Protocol

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold

from drugforge.core.engine import parallel_map, resolve_jobs
from drugforge.molecules.chem.moses_filters import passes_moses_filters
from drugforge.molecules.chem.sascore import sa_score

__all__ = [
    "FINGERPRINT_BITS",
    "PROPERTY_NAMES",
    "InvalidReferenceSmiles",
    "MosesFeatures",
    "ProgressBar",
    "ProgressFactory",
    "brics_fragments",
    "describe_molecules",
    "moses_fingerprint",
    "moses_mol",
    "moses_sample",
    "moses_scaffold",
]

#: Morgan fingerprint length used by every MOSES similarity metric
FINGERPRINT_BITS = 1024
#: the four property distributions MOSES compares (Wasserstein-1 distance)
PROPERTY_NAMES = ("logP", "SA", "QED", "weight")
_STAGES = ("parse", "fingerprint", "fragments", "scaffold", "filters", "properties")
_CHUNK = 1000


class ProgressBar(Protocol):
    """What the describing loop needs of a progress bar."""

    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


#: ``factory(total, label)`` returns a progress bar (drugforge.core.progress.Progress fits)
ProgressFactory = Callable[[int, str], ProgressBar]


@dataclass
class MosesFeatures:
    """What the MOSES metrics need of a list of SMILES.

    Attributes
    ----------
    n_input : number of input strings.
    valid : ``(n_input,)`` bool, which inputs are valid molecules.
    smiles : canonical SMILES of each valid molecule, in input order.
    fingerprints : ``(n_valid, 128)`` uint8, packed Morgan bits (``np.unpackbits`` gives 1024).
    fragments, scaffolds : occurrence counts of BRICS fragments and of 2+-ring scaffolds.
    passes_filters : ``(n_valid,)`` bool (samples only; ``None`` for reference sets).
    properties : logP, SA, QED, weight of each valid molecule, ``(n_valid,)`` float64 each.
    stage_seconds : wall-clock seconds per stage inside the workers, summed over workers (on a
        loaded machine this includes time spent waiting for a core).
    """

    n_input: int
    valid: np.ndarray
    smiles: list[str]
    fingerprints: np.ndarray
    fragments: Counter[str]
    scaffolds: Counter[str]
    passes_filters: np.ndarray | None
    properties: dict[str, np.ndarray]
    stage_seconds: dict[str, float] = field(default_factory=dict)


def moses_mol(smiles: str) -> Chem.Mol | None:
    """MOSES' ``get_mol``: the sanitized molecule, or ``None`` (also for a molecule without atoms)."""
    if not isinstance(smiles, str) or not smiles:
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            return None
        try:
            Chem.SanitizeMol(mol)
        except ValueError:
            return None
    return mol


def moses_sample(smiles: str) -> tuple[Chem.Mol, str] | None:
    """A generated string as MOSES scores it: ``(molecule, canonical SMILES)`` or ``None``.

    The molecule is parsed from the canonical SMILES of the input (MOSES canonicalizes the
    samples, then parses them again); the returned SMILES is that molecule's canonical form.
    """
    mol = moses_mol(smiles)
    if mol is None:
        return None
    with rdBase.BlockLogs():
        canonical = str(Chem.MolToSmiles(mol))
    if canonical == smiles:
        return mol, canonical
    mol = moses_mol(canonical)  # None: a canonical SMILES RDKit cannot read back
    if mol is None:
        return None
    with rdBase.BlockLogs():
        return mol, str(Chem.MolToSmiles(mol))


def _reference_mol(smiles: str) -> tuple[Chem.Mol, str] | None:
    mol = moses_mol(smiles)
    if mol is None:
        return None
    with rdBase.BlockLogs():
        return mol, str(Chem.MolToSmiles(mol))


@lru_cache(maxsize=1)
def _morgan() -> rdFingerprintGenerator.FingerprintGenerator64:
    # bit-identical to GetMorganFingerprintAsBitVect(mol, 2, nBits=1024), which MOSES calls
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=FINGERPRINT_BITS)


def moses_fingerprint(mol: Chem.Mol) -> np.ndarray:
    """Packed Morgan fingerprint (radius 2, 1024 bits) of ``mol``: ``(128,)`` uint8."""
    return np.packbits(_morgan().GetFingerprintAsNumPy(mol).astype(np.uint8))


def brics_fragments(mol: Chem.Mol) -> list[str]:
    """SMILES of the pieces of ``mol`` cut at its BRICS bonds (MOSES' ``fragmenter``)."""
    with rdBase.BlockLogs():
        pieces = Chem.FragmentOnBRICSBonds(mol)
        return str(Chem.MolToSmiles(pieces)).split(".")


def moses_scaffold(mol: Chem.Mol, min_rings: int = 2) -> str | None:
    """Bemis-Murcko scaffold SMILES of ``mol``, or ``None`` below ``min_rings`` rings (MOSES)."""
    with rdBase.BlockLogs():
        try:
            core = MurckoScaffold.GetScaffoldForMol(mol)
        except (ValueError, RuntimeError):
            return None
        n_rings = core.GetRingInfo().NumRings()
        smiles = str(Chem.MolToSmiles(core))
    if not smiles or n_rings < min_rings:
        return None
    return smiles


def _properties(mol: Chem.Mol) -> tuple[float, float, float, float]:
    with rdBase.BlockLogs():
        return (
            float(Crippen.MolLogP(mol)),  # type: ignore[attr-defined]
            float(sa_score(mol)),
            float(QED.qed(mol)),
            float(Descriptors.MolWt(mol)),  # type: ignore[attr-defined]
        )


@dataclass
class _Chunk:
    valid: list[bool]
    smiles: list[str]
    fingerprints: list[np.ndarray]
    fragments: Counter[str]
    scaffolds: Counter[str]
    passes: list[bool]
    properties: list[tuple[float, float, float, float]]
    seconds: dict[str, float]
    bad: int = -1  # reference mode: index (in the chunk) of the first invalid SMILES


def _describe_chunk(items: Sequence[str], reference: bool) -> _Chunk:
    out = _Chunk([], [], [], Counter(), Counter(), [], [], dict.fromkeys(_STAGES, 0.0))
    clock = time.perf_counter
    sec = out.seconds
    for i, raw in enumerate(items):
        t0 = clock()
        parsed = moses_sample(raw) if not reference else _reference_mol(raw)
        t1 = clock()
        sec["parse"] += t1 - t0
        if parsed is None:
            if reference:
                out.bad = i
                return out
            out.valid.append(False)
            continue
        mol, canonical = parsed
        out.valid.append(True)
        out.smiles.append(canonical)
        out.fingerprints.append(moses_fingerprint(mol))
        t2 = clock()
        out.fragments.update(brics_fragments(mol))
        t3 = clock()
        scaffold = moses_scaffold(mol)
        if scaffold is not None:
            out.scaffolds[scaffold] += 1
        t4 = clock()
        if not reference:
            out.passes.append(passes_moses_filters(mol))
        t5 = clock()
        out.properties.append(_properties(mol))
        t6 = clock()
        sec["fingerprint"] += t2 - t1
        sec["fragments"] += t3 - t2
        sec["scaffold"] += t4 - t3
        sec["filters"] += t5 - t4
        sec["properties"] += t6 - t5
    return out


class InvalidReferenceSmiles(ValueError):
    """A reference SMILES does not parse; ``index`` is its 0-based position."""

    def __init__(self, index: int, smiles: str) -> None:
        super().__init__(f"invalid SMILES {smiles[:80]!r} at position {index + 1}")
        self.index = index
        self.smiles = smiles


def describe_molecules(
    smiles: Sequence[str],
    *,
    reference: bool = False,
    n_jobs: int = 1,
    progress: ProgressFactory | None = None,
    label: str = "molecules",
) -> MosesFeatures:
    """Describe every SMILES as the MOSES metrics need it (see the module docstring).

    Parameters
    ----------
    smiles
        Input strings, invalid ones included.
    reference
        Reference-set mode: every SMILES must parse, no filters.
    n_jobs
        Worker processes (``-1``: all cores); the result does not depend on it.
    progress
        Progress bar factory, called once with the number of inputs.

    Raises
    ------
    InvalidReferenceSmiles
        In reference mode, for the first SMILES that does not parse.
    """
    items = list(smiles)
    chunks = [items[s : s + _CHUNK] for s in range(0, len(items), _CHUNK)]
    jobs = min(resolve_jobs(n_jobs), max(1, len(chunks)))
    bar = progress(len(items), label) if progress is not None else None
    parts: list[_Chunk] = []
    try:
        # spawned workers import RDKit and this module only
        describe = partial(_describe_chunk, reference=reference)
        for k, part in enumerate(parallel_map(describe, chunks, jobs)):
            parts.append(part)
            if bar is not None:
                bar.update(len(chunks[k]))
    finally:
        if bar is not None:
            bar.close()
    return _merge(parts, len(items), reference, chunks)


def _merge(
    parts: list[_Chunk], n_input: int, reference: bool, chunks: list[list[str]]
) -> MosesFeatures:
    for k, part in enumerate(parts):
        if part.bad >= 0:
            index = k * _CHUNK + part.bad
            raise InvalidReferenceSmiles(index, str(chunks[k][part.bad]))
    valid = np.fromiter((v for p in parts for v in p.valid), dtype=bool, count=n_input)
    fps = [fp for p in parts for fp in p.fingerprints]
    n_valid = len(fps)
    fingerprints = np.stack(fps) if fps else np.zeros((0, FINGERPRINT_BITS // 8), dtype=np.uint8)
    fragments: Counter[str] = Counter()
    scaffolds: Counter[str] = Counter()
    seconds = dict.fromkeys(_STAGES, 0.0)
    for p in parts:
        fragments.update(p.fragments)
        scaffolds.update(p.scaffolds)
        for key, value in p.seconds.items():
            seconds[key] += value
    props = np.asarray([row for p in parts for row in p.properties], dtype=np.float64)
    props = props.reshape(n_valid, len(PROPERTY_NAMES))
    properties = {name: props[:, j].copy() for j, name in enumerate(PROPERTY_NAMES)}
    passes = None
    if not reference:
        passes = np.fromiter((v for p in parts for v in p.passes), dtype=bool, count=n_valid)
    else:
        del seconds["filters"]
    return MosesFeatures(
        n_input=n_input,
        valid=valid,
        smiles=[s for p in parts for s in p.smiles],
        fingerprints=fingerprints,
        fragments=fragments,
        scaffolds=scaffolds,
        passes_filters=passes,
        properties=properties,
        stage_seconds=seconds,
    )
