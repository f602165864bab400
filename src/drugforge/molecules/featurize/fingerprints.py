"""Circular (Morgan ECFP/FCFP) and MACCS fingerprints."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

from drugforge.molecules.featurize.base import Featurizer, register_featurizer

__all__ = ["ECFP", "FCFP", "MACCS", "ECFPCount"]


@register_featurizer
class ECFP(Featurizer):
    """Morgan fingerprint folded to ``size`` bits.

    Parameters
    ----------
    radius
        Morgan radius (2 -> ECFP4).
    size
        Number of folded bits.
    counts
        Occurrence counts per bit instead of 0/1.
    features
        Pharmacophoric atom invariants (FCFP) instead of the ECFP atom invariants.
    """

    name: ClassVar[str] = "ecfp"

    def __init__(
        self, radius: int = 2, size: int = 2048, counts: bool = False, features: bool = False
    ) -> None:
        if int(radius) != radius or radius < 0:
            raise ValueError(f"radius must be a non-negative integer, got {radius!r}")
        if int(size) != size or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.radius = int(radius)
        self.size = int(size)
        self.counts = bool(counts)
        self.features = bool(features)
        self._generator: Any = None

    def _gen(self) -> Any:
        # Generators are built lazily: they cannot be pickled (multiprocessing workers).
        if self._generator is None:
            kwargs: dict[str, Any] = {"radius": self.radius, "fpSize": self.size}
            if self.features:
                kwargs["atomInvariantsGenerator"] = (
                    rdFingerprintGenerator.GetMorganFeatureAtomInvGen()
                )
            self._generator = rdFingerprintGenerator.GetMorganGenerator(**kwargs)
        return self._generator

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        gen = self._gen()
        if self.counts:
            return gen.GetCountFingerprintAsNumPy(mol).astype(np.float32)
        return gen.GetFingerprintAsNumPy(mol).astype(np.float32)

    def __len__(self) -> int:
        return self.size

    def params(self) -> dict[str, Any]:
        return {
            "radius": self.radius,
            "size": self.size,
            "counts": self.counts,
            "features": self.features,
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_generator"] = None
        return state


@register_featurizer
class FCFP(ECFP):
    """Alias of :class:`ECFP` with pharmacophoric (feature) atom invariants."""

    name: ClassVar[str] = "fcfp"

    def __init__(self, radius: int = 2, size: int = 2048, counts: bool = False) -> None:
        super().__init__(radius=radius, size=size, counts=counts, features=True)

    def params(self) -> dict[str, Any]:
        return {"radius": self.radius, "size": self.size, "counts": self.counts}


@register_featurizer
class ECFPCount(ECFP):
    """Alias of :class:`ECFP` with ``counts=True``."""

    name: ClassVar[str] = "ecfp_count"

    def __init__(self, radius: int = 2, size: int = 2048, features: bool = False) -> None:
        super().__init__(radius=radius, size=size, counts=True, features=features)

    def params(self) -> dict[str, Any]:
        return {"radius": self.radius, "size": self.size, "features": self.features}


@register_featurizer
class MACCS(Featurizer):
    """The 166 MACCS structural keys (RDKit's 167-bit vector; bit 0 is always 0)."""

    name: ClassVar[str] = "maccs"
    _SIZE: ClassVar[int] = 167

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        arr = np.zeros(self._SIZE, dtype=np.float64)
        DataStructs.ConvertToNumpyArray(rdMolDescriptors.GetMACCSKeysFingerprint(mol), arr)
        return arr.astype(np.float32)

    def __len__(self) -> int:
        return self._SIZE

    def params(self) -> dict[str, Any]:
        return {}
