"""``drugforge generate``: sample molecules from a generator and check every string.

Any generator kind of :data:`drugforge.core.registry.GENERATORS` works. ``--model`` is a
saved generator directory or the name of one shipped with drugforge
(``drugforge/resources/generators/<NAME>/``; default ``chem-lm``).

The output (CSV or Parquet, by extension) has one row per sampled string, in sampling order:

``smiles``  canonical SMILES when the string is a valid molecule, else the raw text
``raw``     the string as generated
``valid``   RDKit parses it
``unique``  a valid molecule seen for the first time in this sample (False for invalid ones)
``novel``   a valid molecule not in the generator's training corpus; empty (NA) when that corpus
            is unknown or unavailable, and for invalid strings
``error``   why the string is not a molecule; empty for valid ones

An invalid string is never passed off as a molecule: its ``valid`` is False and ``error`` says why.
``--valid-only`` and ``--unique`` drop rows after the checks (the counts are reported).

A SMILES VAE (and a latent GAN, through the VAE it decodes with) also decodes from chosen points
of its latent space instead of its prior: ``--interpolate A B`` writes ``n`` decodings along the
spherical path between the two molecules' latent means (a column ``t`` from 0 to 1 says where;
the first and last rows decode ``A`` and ``B`` themselves), ``--near SMILES --radius R`` writes
``n`` decodings of ``mu + R * eps`` around one molecule. Those decode greedily unless
``--temperature`` is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rdkit import Chem, rdBase

from drugforge.core.artifacts import LoadedGenerator, load_generator
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.data.corpus import corpus_file, file_sha256, moses_file, read_smiles_set
from drugforge.molecules.data.corpus_cache import canonical_smiles_set
from drugforge.molecules.data.io import write_table
from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.molecules.models import shipped
from drugforge.molecules.models.generative import SmilesGenerator
from drugforge.workflows.common import Logger, check_output_path, make_logger
from drugforge.core.progress import Progress

__all__ = [
    "DEFAULT_GENERATOR",
    "GenerateConfig",
    "GenerateResult",
    "check_samples",
    "load_named_generator",
    "novelty_reference",
    "resolve_generator",
    "run_generate",
    "sample_strings",
    "shipped_generators",
]

DEFAULT_GENERATOR = "chem-lm"
OUTPUT_COLUMNS = ("smiles", "raw", "valid", "unique", "novel", "error")


class GenerateConfig(BaseModel):
    """The validated configuration of one ``drugforge generate`` run."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        default=DEFAULT_GENERATOR,
        description=f"generator directory or shipped name (default: {DEFAULT_GENERATOR})",
    )
    n: int = Field(  # strings to sample (or points on the path, or decodings near)
        ge=1, description="number of strings to sample"
    )
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz)")
    # None: 1 when sampling the prior, 0 (greedy decoding) for --interpolate/--near
    temperature: float | None = Field(
        default=None, ge=0,
        description="sampling temperature (default 1; 0 = greedy for --interpolate/--near)",
    )  # fmt: skip
    top_k: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=512, ge=1)
    seed: int = 0
    unique: bool = Field(default=False, description="write first occurrences only")
    valid_only: bool = Field(default=False, description="write valid molecules only")
    threads: int | None = Field(  # None: torch's choice
        default=None, ge=1, description="torch CPU threads"
    )
    force: bool = False
    quiet: bool = False
    interpolate: tuple[str, str] | None = Field(  # a VAE's latent path between two molecules
        default=None,
        description="smiles-vae/latent-gan: decode -n points on the latent path from A to B",
        json_schema_extra={"cli": {"nargs": 2, "metavar": ["SMILES_A", "SMILES_B"]}},
    )
    near: str | None = Field(  # a VAE's decodings around one molecule
        default=None,
        description="smiles-vae/latent-gan: decode -n points around a molecule's latent",
        json_schema_extra={"cli": {"metavar": "SMILES"}},
    )
    radius: float = Field(  # the latent noise scale
        default=0.5, ge=0, description="--near: scale of the latent noise (0.5)"
    )

    @model_validator(mode="after")
    def _check_mode(self) -> GenerateConfig:
        if self.interpolate is not None and self.near is not None:
            raise ValueError("give --interpolate or --near, not both")
        if self.interpolate is not None and self.n < 2:
            raise ValueError(f"--interpolate needs -n >= 2 points, got {self.n}")
        if self.interpolate is None and self.near is None and self.temperature == 0:
            raise ValueError("temperature must be > 0 when sampling the prior")
        return self

    @property
    def latent_mode(self) -> bool:
        return self.interpolate is not None or self.near is not None


@dataclass
class GenerateResult:
    out: Path
    n_sampled: int
    n_valid: int
    n_unique: int
    n_novel: int | None  # None when novelty could not be computed
    n_written: int
    seconds: float


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


def _sample(
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
    return _sample(loaded.generator, n, seed=seed, temperature=temperature, top_k=top_k,
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
        if not path.is_file() or file_sha256(path) != entry.get("sha256"):
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


def _decode_latent(loaded: LoadedGenerator, config: GenerateConfig) -> list[str]:
    """``--interpolate`` / ``--near``: decodings from chosen points of a VAE's latent space."""
    from drugforge.molecules.models.latent_gan import LatentGAN
    from drugforge.molecules.models.smiles_vae import SmilesVAE

    generator = loaded.generator
    vae = generator.vae_ if isinstance(generator, LatentGAN) else generator
    flag = "--interpolate" if config.interpolate is not None else "--near"
    if not isinstance(vae, SmilesVAE):
        raise InputError(f"{flag} needs a smiles-vae or latent-gan generator, not '{loaded.kind}'",
                         path=loaded.path)  # fmt: skip
    temperature = 0.0 if config.temperature is None else config.temperature
    try:
        if config.interpolate is not None:
            a, b = config.interpolate
            return vae.interpolate(a, b, steps=config.n, temperature=temperature,
                                   seed=config.seed)  # fmt: skip
        assert config.near is not None
        return vae.sample_near(config.near, config.n, radius=config.radius, seed=config.seed,
                               temperature=temperature)  # fmt: skip
    except InvalidSmilesError as err:
        raise InvalidSmilesError(f"{flag}: {err}") from None


# ---------------------------------------------------------------------------------- run
def run_generate(config: GenerateConfig) -> GenerateResult:
    """Sample, check and write as configured; raises DrugforgeError subclasses on bad input."""
    log = make_logger(config.quiet)
    out = check_output_path(config.out, config.force)  # before any work
    started = time.perf_counter()
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    loaded = load_named_generator(config.model)
    log(f"generator: {loaded.kind} from {loaded.path}")
    if config.latent_mode:
        strings = _decode_latent(loaded, config)
    else:
        strings = _sample(
            loaded.generator, config.n, seed=config.seed,
            temperature=1.0 if config.temperature is None else config.temperature,
            top_k=config.top_k, batch_size=config.batch_size, quiet=config.quiet,
        )  # fmt: skip
    reference = novelty_reference(loaded, log)
    frame = check_samples(strings, reference)
    if config.interpolate is not None:
        frame.insert(0, "t", np.linspace(0.0, 1.0, config.n))
    n_valid = int(frame["valid"].sum())
    n_unique = int(frame["unique"].sum())
    n_novel = None if reference is None else int(frame["novel"].fillna(False).sum())
    kept = frame
    if config.valid_only:
        kept = kept[kept["valid"]]
    if config.unique:
        kept = kept[kept["unique"]]
    write_table(kept.reset_index(drop=True), out, force=config.force)
    seconds = time.perf_counter() - started
    n = len(frame)
    novel = (
        "" if n_novel is None else f", novel {n_novel} ({n_novel / max(n_unique, 1):.1%} of unique)"
    )
    log(f"sampled {n}: valid {n_valid} ({n_valid / n:.1%}), unique {n_unique} "
        f"({n_unique / max(n_valid, 1):.1%} of valid){novel}; wrote {len(kept)} rows to {out} "
        f"({seconds:.1f} s)")  # fmt: skip
    return GenerateResult(out, n, n_valid, n_unique, n_novel, len(kept), seconds)
