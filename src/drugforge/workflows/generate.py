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
from pydantic import ConfigDict, Field, model_validator

from drugforge.core.artifacts import LoadedGenerator
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.molecules.data.io import write_table
from drugforge.molecules.generation.sampling import (
    DEFAULT_GENERATOR,
    check_samples,
    load_named_generator,
    novelty_reference,
    sample_generator,
)

__all__ = ["GenerateConfig", "GenerateResult", "run_generate"]



class GenerateConfig(RunConfig):
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
        strings = sample_generator(
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
