"""What every drug-target pair model shares: its input kind, input preparation and features.

``X`` holds pairs ``(smiles, target_sequence)``. :meth:`PairPredictor.prepare_inputs` standardizes
the molecule with the model's saved standardizer and validates the sequence (20 standard residues
plus X, U, B, Z); a pair with a bad half gets ``None`` and a one-line reason, never a zero vector.

Pair data repeat their molecules and their targets many times (DAVIS: 30,056 pairs of 68 drugs and
442 kinases; a library screen: a million molecules against one sequence), so
:class:`PairFeatures` featurizes each distinct molecule and each distinct sequence once and hands
the models row indices into those two tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from drugforge.core.predictor import Predictor
from drugforge.molecules.featurize import featurize_many, get_featurizer
from drugforge.proteins.featurize import encode_residues, get_protein_featurizer
from drugforge.proteins.sequences import check_sequence, normalize_sequence

__all__ = [
    "Pair",
    "PairFeatures",
    "PairPredictor",
    "as_pairs",
    "drug_features",
    "ensemble_dist",
    "featurize_pairs",
    "noise_variance",
    "target_features",
    "unique_index",
]

#: one model input: (SMILES, protein sequence)
Pair = tuple[str, str]


def as_pairs(X: Sequence[Any]) -> list[Pair]:
    """Pairs given as tuples, lists or ``{"smiles", "target_sequence"}`` dicts -> tuples."""
    out: list[Pair] = []
    for x in X:
        if isinstance(x, Mapping):
            out.append((str(x["smiles"]), str(x["target_sequence"])))
        else:
            smiles, seq = x
            out.append((str(smiles), str(seq)))
    return out


def unique_index(values: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Distinct values in first-seen order and, per input, its position among them."""
    seen: dict[str, int] = {}
    idx = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        idx[i] = seen.setdefault(v, len(seen))
    return list(seen), idx


@dataclass
class PairFeatures:
    """Features of the distinct molecules and sequences of some pairs, and which pair uses which.

    ``drug[drug_idx[i]]`` and ``target[target_idx[i]]`` are pair ``i``'s two feature rows.
    """

    drug: np.ndarray  # (n_drugs, d_drug) float32
    target: np.ndarray  # (n_targets, d_target) float32
    drug_idx: np.ndarray  # (n_pairs,) int64
    target_idx: np.ndarray  # (n_pairs,) int64
    codes: list[np.ndarray] | None = None  # per distinct sequence, residue codes (L_i,) int64

    def __len__(self) -> int:
        return len(self.drug_idx)

    def dense(self) -> np.ndarray:
        """One ``(n_pairs, d_drug + d_target)`` matrix (classical models on concatenated features)."""
        return np.hstack([self.drug[self.drug_idx], self.target[self.target_idx]])


@lru_cache(maxsize=4)
def _chem_lm(name: str) -> Any:
    from drugforge.molecules.generation.sampling import load_named_generator

    return load_named_generator(name).generator


@lru_cache(maxsize=4)
def _protein_lm(path: str) -> Any:
    from drugforge.proteins.models.plm import load_protein_lm

    return load_protein_lm(path)


def drug_features(name: str, smiles: Sequence[str]) -> np.ndarray:
    """``(n, d)`` features of standardized SMILES: a molecule featurizer's name (``ecfp_count``,
    ``rdkit2d``...) or ``chem-lm[:NAME|DIR]``, the pretrained chemical language model's vectors."""
    if name == "chem-lm" or name.startswith("chem-lm:"):
        model = _chem_lm(name.partition(":")[2] or "chem-lm")
        return np.asarray(model.embed(list(smiles)), np.float32)
    # no feature cache: pairs are featurized once per distinct molecule already, and a library
    # screen's molecules would fill the cache's 512 MiB in every worker for nothing
    return np.asarray(featurize_many([get_featurizer(name)], list(smiles), cache=False),
                      np.float32)  # fmt: skip


def target_features(name: str, seqs: Sequence[str]) -> np.ndarray:
    """``(n, d)`` features of validated sequences: a protein featurizer's name (``composition``,
    ``kmer``...) or ``plm:DIR``, a protein language model (ESM-2 style) in a local directory."""
    if name.startswith("plm:"):
        return np.asarray(_protein_lm(name[len("plm:") :]).transform(list(seqs)), np.float32)
    return get_protein_featurizer(name).transform(seqs)


def featurize_pairs(
    pairs: Sequence[Pair], drug_featurizers: Sequence[str], target_featurizers: Sequence[str],
    *, codes: bool = False,
) -> PairFeatures:
    """Featurize each distinct molecule and sequence of ``pairs`` once (``codes``: also the
    residue codes of each whole sequence, for a sequence CNN)."""
    smiles, d_idx = unique_index([p[0] for p in pairs])
    seqs, t_idx = unique_index([p[1] for p in pairs])
    drug = np.hstack([drug_features(n, smiles) for n in drug_featurizers])
    blocks = [target_features(n, seqs) for n in target_featurizers]
    target = np.hstack(blocks) if blocks else np.zeros((len(seqs), 0), np.float32)
    residue_codes = None
    if codes:
        enc = encode_residues(seqs)
        residue_codes = [enc.codes[i, : enc.lengths[i]] for i in range(len(seqs))]
    return PairFeatures(drug, np.asarray(target, np.float32), d_idx, t_idx, residue_codes)


def noise_variance(y_val: np.ndarray, member_preds: np.ndarray) -> float:
    """The variance the members' spread does not explain on held-out pairs: ``max(0,
    MSE(ensemble mean) - mean(spread^2))``; ``member_preds`` is ``(members, n)``.

    Members trained on the same pairs agree closely even where all are wrong (a few members'
    spread is small and noisy), so the spread alone, scaled to calibrated size, gives a few pairs
    absurd errors bars. The pair models report ``sqrt(spread^2 + noise)``: the spread still
    widens the error bar of a pair unlike the training data, and the uncertainty calibration
    then fits a scale near 1.
    """
    if y_val.size == 0:
        return 0.0
    mean = member_preds.mean(axis=0)
    spread = member_preds.var(axis=0) if member_preds.shape[0] > 1 else np.zeros_like(mean)
    return float(max(0.0, np.mean((y_val - mean) ** 2) - np.mean(spread)))


def ensemble_dist(member_preds: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` ``(n, 1)`` of ``(members, n)`` predictions with the noise floor above."""
    mean = member_preds.mean(axis=0)
    spread = member_preds.var(axis=0) if member_preds.shape[0] > 1 else np.zeros_like(mean)
    return mean[:, None], np.sqrt(spread + noise)[:, None]


class PairPredictor(Predictor):
    """Base class of the drug-target pair models: ``X`` holds ``(smiles, sequence)`` pairs."""

    input_kind: ClassVar[str] = "pairs"

    @classmethod
    def prepare_inputs(
        cls, raw: Sequence[Any], settings: Mapping[str, Any]
    ) -> tuple[list[Any], list[str]]:
        """Standardize each pair's molecule and validate its sequence (bad -> None, why)."""
        from drugforge.molecules.chem import StandardizerConfig, standardize_many

        pairs: list[Pair | None] = []
        for x in raw:
            try:
                pairs.append(as_pairs([x])[0])
            except (KeyError, TypeError, ValueError):
                pairs.append(None)
        clean, mol_errors = standardize_many(
            [p[0] if p is not None else "" for p in pairs],
            StandardizerConfig.from_dict(dict(settings)),
        )
        out: list[Any] = []
        errors: list[str] = []
        for pair, smiles, mol_error in zip(pairs, clean, mol_errors, strict=True):
            if pair is None:
                out.append(None)
                errors.append("not a (smiles, target_sequence) pair")
                continue
            seq_error = check_sequence(pair[1])
            if mol_error or smiles is None or seq_error:
                out.append(None)
                errors.append("; ".join(e for e in (mol_error, seq_error) if e) or "invalid pair")
                continue
            out.append((smiles, normalize_sequence(pair[1])))
            errors.append("")
        return out, errors
