"""The featurizer contract and the featurizer registry.

A featurizer maps one RDKit ``Mol`` to a 1-D float32 vector of fixed length. It is stateless:
``params()`` (JSON) is all that is needed to rebuild it, so a saved model stores only the name and
the params (``get_featurizer(f.name, **f.params())``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

import numpy as np
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from drugforge.core.registry import Registry

__all__ = [
    "FEATURIZERS",
    "Featurizer",
    "get_featurizer",
    "list_featurizers",
    "mol_from_smiles",
    "register_featurizer",
]


class Featurizer(ABC):
    """One molecule -> one 1-D float32 vector of length ``len(self)``."""

    name: ClassVar[str] = "base"

    @abstractmethod
    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        """Return the feature vector of ``mol`` (1-D float32, ``len(self)`` long)."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of features."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serializable constructor arguments: ``get_featurizer(self.name, **params)``."""

    def feature_names(self) -> list[str]:
        """Names of the features, in output order (generic ``name_i`` unless overridden)."""
        return [f"{self.name}_{i}" for i in range(len(self))]

    def cache_key(self) -> str:
        """Stable identity of this featurizer (name + sorted params JSON), used by the cache."""
        return f"{self.name}:{json.dumps(self.params(), sort_keys=True)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Featurizer) and self.cache_key() == other.cache_key()

    def __hash__(self) -> int:
        return hash(self.cache_key())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


#: the featurizer registry: ``featurizer: NAME`` in model parameters and configs
FEATURIZERS: Registry[type[Featurizer]] = Registry("featurizer")

_F = TypeVar("_F", bound=type[Featurizer])


def register_featurizer(cls: _F) -> _F:
    """Class decorator: add ``cls`` to :data:`FEATURIZERS` under ``cls.name``."""
    FEATURIZERS.add(cls, name=cls.name)
    return cls


def list_featurizers() -> list[str]:
    """Registered featurizer names, sorted (feeds CLI ``choices`` and error messages)."""
    return sorted(FEATURIZERS.names())


def get_featurizer(name: str, **params: Any) -> Featurizer:
    """Build the featurizer registered as ``name`` with ``params``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the choices and the closest one) or bad
        parameters.
    """
    cls = FEATURIZERS.get(name)
    try:
        return cls(**params)
    except TypeError as err:  # unexpected keyword: say which featurizer, keep it one line
        raise ValueError(f"bad parameters for featurizer {name!r}: {err}") from None


def mol_from_smiles(smiles: str) -> Chem.Mol | None:
    """Parse ``smiles`` with RDKit logging silenced; ``None`` when invalid or empty.

    A private stand-in for ``drugforge.molecules.chem.parse_smiles`` so featurize does not depend on chem
    being importable.
    """
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    block = BlockLogs()  # restores the previous log state when released
    try:
        return Chem.MolFromSmiles(smiles)
    finally:
        del block
