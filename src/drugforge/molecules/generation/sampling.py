"""Sampling a generator and checking every string: the pieces ``generate``, ``optimize``,
``embed`` and the MOSES benchmark share.

A generator is named by a saved directory or the name of one shipped with drugforge
(``drugforge/resources/generators/<NAME>/``). :func:`sample_strings` samples in seeded chunks;
:func:`check_samples` marks each string valid / unique / novel with the reason an invalid one is
not a molecule; :func:`novelty_reference` reads the generator's training corpus (canonicalized
once per file checksum, then cached).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase

from drugforge.core.artifacts import LoadedGenerator, load_generator
from drugforge.core.errors import InputError
from drugforge.core.progress import Progress
from drugforge.core.runtime import Logger, sha256_file
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.data.corpus import corpus_file, moses_file, read_smiles_set
from drugforge.molecules.data.corpus_cache import canonical_smiles_set
from drugforge.molecules.models import shipped
from drugforge.molecules.models.generative import SmilesGenerator

__all__ = [
    "DEFAULT_GENERATOR",
    "OUTPUT_COLUMNS",
    "check_samples",
    "load_named_generator",
    "novelty_reference",
    "resolve_generator",
    "sample_generator",
    "sample_strings",
    "shipped_generators",
]

DEFAULT_GENERATOR = "chem-lm"
OUTPUT_COLUMNS = ("smiles", "raw", "valid", "unique", "novel", "error")


# ------------------------------------------------------------------------ finding models
def shipped_generators() -> list[str]:
    """Names of the generators shipped with drugforge (directories with a manifest)."""
    return shipped.shipped_generators()


def resolve_generator(model: str) -> Path:
    """The directory of ``model``: a path to a generator directory, or a shipped name."""
    return shipped.resolve_generator_dir(model, option="--model")


def load_named_generator(model: str) -> LoadedGenerator:
    """Load a generator by directory or shipped name (see :func:`resolve_generator`)."""
    return load_generator(resolve_generator(model))


# ------------------------------------------------------------------------------ sampling
def _chunk_seed(seed: int, chunk: int) -> int:
    return int(np.random.SeedSequence([seed, chunk]).generate_state(1)[0])


def sample_generator(
    generator: SmilesGenerator,
    n: int,
    *,
    seed: int,
    temperature: float,
    top_k: int | None,
    batch_size: int,
    quiet: bool = True,
) -> list[str]:
    """``n`` strings in chunks of ``batch_size`` (so that progress can be shown), chunk ``i``
    seeded from ``(seed, i)``: the same settings give the same strings."""
    out: list[str] = []
    with Progress(total=n, label="sampling", quiet=quiet) as progress:
        for chunk, start in enumerate(range(0, n, batch_size)):
            size = min(batch_size, n - start)
            out.extend(
                generator.sample(
                    size, temperature=temperature, top_k=top_k, batch_size=batch_size,
                    seed=_chunk_seed(seed, chunk),
                )
            )  # fmt: skip
            progress.update(size)
    return out


def sample_strings(
    model: str,
    n: int,
    *,
    seed: int = 0,
    temperature: float = 1.0,
    top_k: int | None = None,
    batch_size: int = 512,
) -> list[str]:
    """``n`` raw strings from generator ``model`` (directory or shipped name), in sampling order.

    The strings ``drugforge generate`` writes in its ``raw`` column for the same settings; not
    checked, not de-duplicated (for benchmarks such as MOSES, which score the raw samples).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    loaded = load_named_generator(model)
    return sample_generator(loaded.generator, n, seed=seed, temperature=temperature, top_k=top_k,
                   batch_size=batch_size)  # fmt: skip


# ------------------------------------------------------------------------------- checking
def _why_invalid(text: str) -> str:
    """Why ``text`` is not a molecule: syntax, unknown token, or RDKit's chemistry complaint."""
    if not text:
        return "empty string"
    if "<unk>" in text:
        return "contains an unknown token"
    if not text.isascii() or any(ch.isspace() for ch in text):
        return "not a SMILES string (whitespace or non-ASCII text)"
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            return "SMILES syntax error (e.g. an unclosed ring or branch)"
        problems = Chem.DetectChemistryProblems(mol)
    if problems:
        return " ".join(f"{problems[0].GetType()}: {problems[0].Message()}".split())
    return "RDKit cannot parse it"


def check_samples(strings: list[str], reference: set[str] | None) -> pd.DataFrame:
    """One row per string, in order, with the columns of the module docstring."""
    smiles, valid, unique, novel, errors = [], [], [], [], []
    seen: set[str] = set()
    for raw in strings:
        mol = parse_smiles(raw) if raw.strip() == raw else None
        if mol is None:
            smiles.append(raw)
            valid.append(False)
            unique.append(False)
            novel.append(pd.NA)
            errors.append(_why_invalid(raw))
            continue
        canonical = Chem.MolToSmiles(mol)
        smiles.append(canonical)
        valid.append(True)
        unique.append(canonical not in seen)
        seen.add(canonical)
        novel.append(pd.NA if reference is None else canonical not in reference)
        errors.append("")
    return pd.DataFrame({
        "smiles": pd.Series(smiles, dtype=object),
        "raw": pd.Series(strings, dtype=object),
        "valid": pd.Series(valid, dtype=bool),
        "unique": pd.Series(unique, dtype=bool),
        "novel": pd.Series(novel, dtype="boolean"),
        "error": pd.Series(errors, dtype=object),
    })  # fmt: skip


def novelty_reference(loaded: LoadedGenerator, log: Logger) -> set[str] | None:
    """The canonical SMILES of the generator's training corpus, when it is known and at hand.

    Pretrained generators record their corpus files (path and sha256); MOSES train is read as
    is (its SMILES are RDKit-canonical, as the MOSES metrics assume), other files are
    canonicalized once per file checksum and then read from the cache
    (:mod:`drugforge.molecules.data.corpus_cache`). ``None`` (novelty left empty) when no
    corpus is recorded or a file is gone or changed.
    """
    corpus = loaded.training.get("corpus")
    corpus = corpus if isinstance(corpus, dict) else {}
    entries = corpus.get("files")
    if not entries:
        log("novelty: the generator does not record its training corpus; column left empty")
        return None
    reference: set[str] = set()
    for entry in entries:
        path = Path(str(entry.get("path", "")))
        if entry.get("moses") == "train":
            try:
                path = moses_file("train")
            except InputError:
                log("novelty: MOSES data not installed; column left empty")
                return None
        if not path.is_file() or sha256_file(path) != entry.get("sha256"):
            log(f"novelty: training file {path} is missing or changed; column left empty")
            return None
        column = None if entry.get("moses") else corpus.get("smiles_column")
        file = corpus_file(path, column)
        t0 = time.perf_counter()
        if entry.get("moses") == "train":  # already RDKit-canonical: read as is
            reference |= read_smiles_set([file], canonical=False)
        else:  # canonicalized once per file checksum, then read from the cache
            reference |= canonical_smiles_set(file, str(entry.get("sha256")))
        log(f"novelty: read {path.name} ({time.perf_counter() - t0:.1f} s)")
    return reference
