"""Synthetic accessibility score (Ertl & Schuffenhauer, J. Cheminf. 2009, 1:8), as in MOSES.

The formula is the one of RDKit's ``Contrib/SA_Score/sascorer.py`` (the copy MOSES ships): a
fragment score from radius-2 Morgan environments, minus size, stereo, spiro, bridgehead and
macrocycle penalties, plus a symmetry correction, mapped onto 1 (easy) .. 10 (hard).

The fragment scores come from ``fpscores.pkl.gz`` (RDKit's Contrib folder, else the identical copy
in MOSES). That file is a pickle, so it is read with an unpickler that refuses every global: it can
then only build lists, integers and floats (which is all the file holds) and cannot run code, even
if the file were replaced by a hostile one.
"""

from __future__ import annotations

import gzip
import math
import pickle
from functools import lru_cache
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

from drugforge.core.errors import InputError

__all__ = ["fragment_score_path", "load_fragment_scores", "sa_score"]


class _DataOnlyUnpickler(pickle.Unpickler):
    """Builds only builtin containers and numbers: any class or function reference is refused."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def fragment_score_path() -> Path:
    """Where ``fpscores.pkl.gz`` is: RDKit's Contrib folder, else the MOSES package."""
    candidates: list[Path] = []
    try:
        from rdkit.Chem import RDConfig

        candidates.append(Path(RDConfig.RDContribDir) / "SA_Score" / "fpscores.pkl.gz")
    except (ImportError, AttributeError):
        pass
    try:
        from drugforge.molecules.chem.moses_filters import moses_package_dir

        candidates.append(moses_package_dir() / "metrics" / "SA_Score" / "fpscores.pkl.gz")
    except InputError:
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(
        "SA score fragment table fpscores.pkl.gz not found (looked in RDKit's Contrib folder and "
        "the molsets package); install molsets with: pip install --no-deps molsets==0.3.1"
    )


@lru_cache(maxsize=1)
def load_fragment_scores(path: str | None = None) -> dict[int, float]:
    """Fragment id -> score, read from ``path`` (default :func:`fragment_score_path`)."""
    source = Path(path) if path is not None else fragment_score_path()
    try:
        with gzip.open(source, "rb") as handle:
            rows = _DataOnlyUnpickler(handle).load()
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise InputError(f"cannot read the SA fragment scores: {err}", path=source) from None
    if not isinstance(rows, list):
        raise InputError(
            "SA fragment scores: expected a list of [score, id, ...] rows", path=source
        )
    scores: dict[int, float] = {}
    for row in rows:
        # each row is [score, fragment id, fragment id, ...]
        if not isinstance(row, list) or not row:
            raise InputError("SA fragment scores: malformed row", path=source)
        value = float(row[0])
        for fragment in row[1:]:
            scores[int(fragment)] = value
    return scores


@lru_cache(maxsize=1)
def _morgan2() -> rdFingerprintGenerator.FingerprintGenerator64:
    # unfolded radius-2 Morgan counts: the same ids as the old GetMorganFingerprint(m, 2)
    return rdFingerprintGenerator.GetMorganGenerator(radius=2)


def n_chiral_centers(mol: Chem.Mol) -> int:
    """``len(Chem.FindMolChiralCenters(mol, includeUnassigned=True))`` at a third of its cost.

    With RDKit's legacy stereo perception (its default) the same steps as RDKit's function, with
    the atoms fetched once by index instead of through ``GetAtoms()``'s Python sequence (most of
    its time); with the new perception, RDKit's function without CIP labels (only the count is
    wanted). Like RDKit's function it assigns stereochemistry on ``mol``.
    """
    if not Chem.GetUseLegacyStereoPerception():
        return len(Chem.FindMolChiralCenters(mol, includeUnassigned=True, includeCIP=False))
    atoms = [mol.GetAtomWithIdx(i) for i in range(mol.GetNumAtoms())]
    for atom in atoms:
        atom.ClearProp("_ChiralityPossible")
    Chem.AssignStereochemistry(mol, force=True, flagPossibleStereoCenters=True, cleanIt=True)
    return sum(1 for a in atoms if a.HasProp("_CIPCode") or a.HasProp("_ChiralityPossible"))


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility of ``mol`` between 1 (easy to make) and 10 (hard).

    Raises ``ValueError`` for a molecule without atoms.
    """
    n_atoms = mol.GetNumAtoms()
    if n_atoms == 0:
        raise ValueError("SA score of an empty molecule")
    scores = load_fragment_scores()
    counts = _morgan2().GetSparseCountFingerprint(mol).GetNonzeroElements()
    total = 0
    fragment_score = 0.0
    for fragment, count in counts.items():
        total += count
        fragment_score += scores.get(fragment, -4.0) * count
    fragment_score /= total

    n_chiral = n_chiral_centers(mol)
    n_bridgeheads = rdMolDescriptors.CalcNumBridgeheadAtoms(mol)
    n_spiro = rdMolDescriptors.CalcNumSpiroAtoms(mol)
    has_macrocycle = any(len(ring) > 8 for ring in mol.GetRingInfo().AtomRings())

    size_penalty = n_atoms**1.005 - n_atoms
    stereo_penalty = math.log10(n_chiral + 1)
    spiro_penalty = math.log10(n_spiro + 1)
    bridge_penalty = math.log10(n_bridgeheads + 1)
    # the reference code's form, not the paper's log10(n_macrocycles + 1)
    macrocycle_penalty = math.log10(2) if has_macrocycle else 0.0
    complexity = -size_penalty - stereo_penalty - spiro_penalty - bridge_penalty
    complexity -= macrocycle_penalty

    # symmetric molecules (few distinct environments per atom) are easier to make
    symmetry = math.log(n_atoms / len(counts)) * 0.5 if n_atoms > len(counts) else 0.0

    raw = fragment_score + complexity + symmetry
    low, high = -4.0, 2.5
    score = 11.0 - (raw - low + 1) / (high - low) * 9.0
    if score > 8.0:  # smooth the hard end
        score = 8.0 + math.log(score + 1.0 - 9.0)
    return min(10.0, max(1.0, score))
