"""Protein sequences: validation, target file readers and featurizers.

>>> from drugforge.proteins import get_protein_featurizer, normalize_sequence
>>> normalize_sequence("mkv l*")
'MKVL'
>>> get_protein_featurizer("aac").transform(["MKVL"]).shape
(1, 20)

Torch models live in :mod:`drugforge.proteins.models` (imported on demand, as is
``transformers`` for protein language models).
"""

from __future__ import annotations

from drugforge.proteins.featurize import (
    CTD_GROUPS,
    PROTEIN_FEATURIZERS,
    EncodedResidues,
    ProteinFeaturizer,
    encode_residues,
    get_protein_featurizer,
    list_protein_featurizers,
    register_protein_featurizer,
)
from drugforge.proteins.sequences import (
    ALPHABET,
    STANDARD_AMINO_ACIDS,
    InvalidSequenceError,
    check_sequence,
    normalize_sequence,
    read_fasta,
    read_targets,
)

__all__ = [
    "ALPHABET",
    "CTD_GROUPS",
    "PROTEIN_FEATURIZERS",
    "STANDARD_AMINO_ACIDS",
    "EncodedResidues",
    "InvalidSequenceError",
    "ProteinFeaturizer",
    "check_sequence",
    "encode_residues",
    "get_protein_featurizer",
    "list_protein_featurizers",
    "normalize_sequence",
    "read_fasta",
    "read_targets",
    "register_protein_featurizer",
]
