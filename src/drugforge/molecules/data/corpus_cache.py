"""The canonical SMILES set of a corpus file, canonicalized once and then read from a cache.

Novelty (is a generated molecule in the training corpus?) needs the corpus as canonical SMILES;
canonicalizing a user corpus with RDKit takes minutes for a million molecules, on every
``drugforge generate``. The set is therefore saved in the cache folder
(:func:`~drugforge.core.cache.cache_dir` ``("corpus")``) under a key of everything it depends on:
the file's SHA-256, where its SMILES are (column, delimiter, header), the RDKit version and
:data:`CANONICAL_VERSION` of the parsing rules. A changed file, column or RDKit gets a new entry;
the file is written under a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from rdkit import rdBase

from drugforge.core.cache import cache_dir
from drugforge.molecules.data.corpus import CorpusFile, read_smiles_set

__all__ = ["CANONICAL_VERSION", "canonical_smiles_set"]

#: bump when :func:`~drugforge.molecules.chem.mol.parse_smiles` or the canonicalization changes
CANONICAL_VERSION = 1
_HEADER = "# drugforge canonical SMILES set"


def _key(file: CorpusFile, sha256: str) -> str:
    recipe = {"sha256": sha256, "column": file.column, "delimiter": file.delimiter,
              "header": file.header, "rdkit": rdBase.rdkitVersion,
              "version": CANONICAL_VERSION}  # fmt: skip
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def canonical_smiles_set(file: CorpusFile, sha256: str, folder: Path | None = None) -> set[str]:
    """Every valid SMILES of ``file``, RDKit-canonical (as :func:`read_smiles_set` gives them).

    ``sha256`` is the file's checksum, already checked by the caller against the one the model
    recorded; ``folder`` overrides the cache folder. A cache entry that cannot be read (or one
    that cannot be written, on a read-only disk) only costs the canonicalization.
    """
    folder = folder if folder is not None else cache_dir("corpus")
    key = _key(file, sha256)
    path = folder / f"{key}.smi"
    cached = _read(path, key)
    if cached is not None:
        return cached
    smiles = read_smiles_set([file], canonical=True)
    try:
        _write(path, key, smiles)
    except OSError:
        pass  # no cache is slower, not wrong
    return smiles


def _read(path: Path, key: str) -> set[str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header, _, body = text.partition("\n")
    parts = header.split(" ")
    if not header.startswith(_HEADER) or parts[-2] != key:
        return None
    lines = body.split("\n")[:-1] if body else []  # every line ends in "\n"
    if str(len(lines)) != parts[-1]:
        return None
    return set(lines)


def _write(path: Path, key: str, smiles: set[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(smiles)  # the same set gives the same file
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(f"{_HEADER} {key} {len(ordered)}\n")
            handle.writelines(f"{s}\n" for s in ordered)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
