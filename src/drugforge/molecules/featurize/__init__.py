"""Molecule featurizers: small typed callables plus one batch wrapper.

>>> from drugforge.molecules.featurize import featurize, get_featurizer
>>> X = featurize(get_featurizer("ecfp", radius=2, size=2048), ["CCO", "c1ccccc1"])
>>> X.shape, X.dtype
((2, 2048), dtype('float32'))
"""

from __future__ import annotations

from drugforge.molecules.featurize.base import (
    FEATURIZERS,
    Featurizer,
    get_featurizer,
    list_featurizers,
    register_featurizer,
)
from drugforge.molecules.featurize.batch import (
    cache_info,
    clear_cache,
    featurize,
    featurize_many,
    set_cache_limit,
)
from drugforge.molecules.featurize.descriptors import RDKit2D, scale_descriptors
from drugforge.molecules.featurize.fingerprints import ECFP, FCFP, MACCS, ECFPCount

__all__ = [
    "ECFP",
    "FCFP",
    "FEATURIZERS",
    "MACCS",
    "ECFPCount",
    "Featurizer",
    "RDKit2D",
    "cache_info",
    "clear_cache",
    "featurize",
    "featurize_many",
    "get_featurizer",
    "list_featurizers",
    "register_featurizer",
    "scale_descriptors",
    "set_cache_limit",
]
