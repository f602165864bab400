"""RDKit 2D descriptors, scaled without fitted state."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors
from rdkit.Chem.EState.EState import EStateIndices
from rdkit.ML.InfoTheory.rdInfoTheory import InfoEntropy
from rdkit.rdBase import BlockLogs

from drugforge.molecules.featurize.base import Featurizer, register_featurizer

__all__ = ["RDKit2D", "scale_descriptors"]

#: Values are clipped to this after the signed log1p (|raw| ~ 1e13); it only guards
#: against absurd values, real descriptors stay far inside it.
CLIP = 30.0


def scale_descriptors(raw: np.ndarray) -> np.ndarray:
    """Stateless scaling: non-finite -> 0, then ``sign(x) * log1p(|x|)``, clipped to +-30.

    The log compresses descriptors that span orders of magnitude (MolWt, Ipc, BertzCT) to a
    similar range so distance-based models and neural nets see comparable scales, without a
    scaler fitted on (and leaking from) any data set.
    """
    x = np.asarray(raw, dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    out = np.clip(np.sign(x) * np.log1p(np.abs(x)), -CLIP, CLIP)
    return out.astype(np.float32)


def _abs_char_poly(mol: Chem.Mol) -> np.ndarray:
    """|coefficients| of the characteristic polynomial of the heavy-atom adjacency matrix.

    From the eigenvalues (O(n^3), stable): RDKit's Le Verrier recursion is O(n^4) in Python
    (seconds per peptide) and loses all precision above ~100 atoms. Below that both agree to ~1e-9.
    """
    adj = Chem.GetAdjacencyMatrix(mol).astype(np.float64)
    if adj.size == 0:
        return np.ones(1)
    return np.abs(np.poly(np.linalg.eigvalsh(adj)))


def _ipc(mol: Chem.Mol) -> float:
    """RDKit ``Ipc``: Bonchev-Trinajstic information content of the characteristic polynomial."""
    c = _abs_char_poly(mol)
    return float(c.sum()) * float(InfoEntropy(c))


def _avg_ipc(mol: Chem.Mol) -> float:
    """RDKit ``AvgIpc``: the same information content per coefficient mass."""
    return float(InfoEntropy(_abs_char_poly(mol)))


def _estate(mol: Chem.Mol) -> list[float]:
    """E-state indices, computed once per molecule object (RDKit caches them on the molecule
    when ``force`` is false; its four E-state descriptors each recompute them otherwise)."""
    return list(EStateIndices(mol, force=False))


def _max_abs_estate(mol: Chem.Mol) -> float:
    return max(abs(x) for x in _estate(mol))


def _max_estate(mol: Chem.Mol) -> float:
    return max(_estate(mol))


def _min_abs_estate(mol: Chem.Mol) -> float:
    return min(abs(x) for x in _estate(mol))


def _min_estate(mol: Chem.Mol) -> float:
    return min(_estate(mol))


# Same names and order as RDKit's list; the two slow polynomial descriptors are swapped and the
# four E-state summaries share one computation of the indices (same values as RDKit's).
_FAST = {
    "Ipc": _ipc,
    "AvgIpc": _avg_ipc,
    "MaxAbsEStateIndex": _max_abs_estate,
    "MaxEStateIndex": _max_estate,
    "MinAbsEStateIndex": _min_abs_estate,
    "MinEStateIndex": _min_estate,
}
_DESCRIPTOR_LIST: list[tuple[str, Callable[[Chem.Mol], Any]]] = [
    (name, _FAST.get(name, fn)) for name, fn in Descriptors._descList
]


@register_featurizer
class RDKit2D(Featurizer):
    """Every descriptor in RDKit's ``Descriptors._descList`` (in that order), log-scaled.

    A descriptor that fails or is non-finite for a molecule is 0 (its log-scaled neutral value).
    ``Ipc`` and ``AvgIpc`` are evaluated from adjacency eigenvalues (fast and stable, equal to
    RDKit's values for drug-sized molecules).
    ``feature_names()`` gives the descriptor names; the list depends on the RDKit version, which
    the artifact manifest records.

    Parameters
    ----------
    names
        Only these descriptors, in this order (``None``: all of them). A few cheap descriptors
        cost microseconds where the full list costs milliseconds per molecule, which is what
        high-throughput models (the shipped profile panel) need.
    """

    name: ClassVar[str] = "rdkit2d"

    def __init__(self, names: Sequence[str] | None = None) -> None:
        if names is None:
            self.names: list[str] | None = None
            self._descriptors: list[tuple[str, Callable[[Chem.Mol], Any]]] = _DESCRIPTOR_LIST
            return
        if isinstance(names, str):
            raise TypeError("names must be a list of descriptor names, not one string")
        known = dict(_DESCRIPTOR_LIST)
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ValueError(
                f"unknown RDKit descriptor(s) {unknown}; choose from: {', '.join(known)}"
                if unknown
                else "names must list at least one descriptor"
            )
        self.names = list(names)
        self._descriptors = [(n, known[n]) for n in self.names]

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        return scale_descriptors(self.raw(mol))

    def raw(self, mol: Chem.Mol) -> np.ndarray:
        """Unscaled descriptor values (float64, NaN where a descriptor fails)."""
        out = np.empty(len(self._descriptors), dtype=np.float64)
        block = BlockLogs()
        try:
            for i, (_, fn) in enumerate(self._descriptors):
                try:
                    value = float(fn(mol))
                except Exception:  # noqa: BLE001 - any RDKit failure means "not available"
                    value = math.nan
                out[i] = value
        finally:
            del block
        return out

    def __len__(self) -> int:
        return len(self._descriptors)

    def params(self) -> dict[str, Any]:
        # no key for the full list: models saved before ``names`` existed keep their identity
        return {} if self.names is None else {"names": list(self.names)}

    def feature_names(self) -> list[str]:
        return [name for name, _ in self._descriptors]
