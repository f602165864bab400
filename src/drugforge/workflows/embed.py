"""``drugforge embed``: one vector per molecule from a pretrained chemical language model.

Every input row is written back, in input order, with its columns, the vector as columns
``emb_0 .. emb_{d-1}`` and an ``error`` column (empty for good rows). A row whose molecule cannot
be read (invalid SMILES, a token the model's vocabulary lacks, longer than the model's context)
keeps NaN in every vector column and says why. Molecules are standardized with drugforge's
default standardizer first (largest fragment, neutralized, canonical SMILES), which is how the
pretraining corpus is written, so two spellings of one molecule get the same vector.

Output by extension: ``.csv``/``.tsv``/``.parquet`` (optionally ``.gz``), or ``.npy`` for the bare
``(n, d)`` float32 matrix (NaN rows for bad molecules; the row order is the input's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.progress import Progress
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.molecules.chem import StandardizerConfig, standardize_many
from drugforge.molecules.data.io import read_molecules, write_table
from drugforge.molecules.generation.sampling import DEFAULT_GENERATOR, load_named_generator

__all__ = ["EmbedConfig", "EmbedResult", "embed_smiles", "run_embed"]


class EmbedConfig(RunConfig):
    """The validated configuration of one ``drugforge embed`` run."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(  # gzipped too
        description="molecule file (CSV/TSV/SMI/SDF/Parquet, optionally .gz)",
        json_schema_extra={"cli": {"positional": True}},
    )
    out: str = Field(
        description="output .csv/.tsv/.parquet (optionally .gz) or .npy (matrix only)"
    )
    model: str = Field(
        default=DEFAULT_GENERATOR,
        description=f"chem-lm directory or shipped name (default: {DEFAULT_GENERATOR})",
    )
    smiles_column: str | None = None
    batch_size: int = Field(default=256, ge=1)
    threads: int | None = Field(  # None: torch's choice
        default=None, ge=1, description="torch CPU threads"
    )
    encoding: str | None = Field(default=None, description="text encoding of the input (utf-8)")
    force: bool = False
    quiet: bool = False


@dataclass
class EmbedResult:
    out: Path
    n_rows: int
    n_embedded: int
    dim: int
    seconds: float


def embed_smiles(
    model: object, smiles: list[str], *, batch_size: int = 256, quiet: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Vectors ``(n, d)`` (NaN rows for bad molecules) and the error text per row."""
    embed = getattr(model, "embed", None)
    check = getattr(model, "check", None)
    if embed is None or check is None:
        raise InputError(f"a {getattr(model, 'kind', type(model).__name__)} generator has no "
                         "molecule embedding; use a chem-lm model")
    clean, errors = standardize_many(smiles, StandardizerConfig())
    errors = list(errors)
    for i, s in enumerate(clean):
        if s is not None and not errors[i]:
            why = check(s)
            if why:
                errors[i] = f"cannot embed: {why}"
    ok = [i for i, s in enumerate(clean) if s is not None and not errors[i]]
    probe = embed([clean[ok[0]]]) if ok else embed(["C"])
    out = np.full((len(smiles), probe.shape[1]), np.nan, dtype=np.float32)
    progress = Progress(total=len(ok), label="embed", quiet=quiet)
    for start in range(0, len(ok), batch_size):
        idx = ok[start : start + batch_size]
        out[idx] = embed([clean[i] for i in idx], batch_size=batch_size)
        progress.update(len(idx))
    progress.close()
    return out, errors


def run_embed(config: EmbedConfig) -> EmbedResult:
    log = make_logger(config.quiet)
    out_path = Path(config.out)
    if out_path.name.lower().endswith(".npy"):
        if out_path.exists() and not config.force:
            raise InputError("output exists; use --force to overwrite", path=out_path)
    else:
        out_path = check_output_path(config.out, config.force)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    started = time.perf_counter()
    loaded = load_named_generator(config.model)
    table = read_molecules(config.data, smiles_column=config.smiles_column, target_columns=[],
                          encoding=config.encoding)
    frame = table.frame.copy()
    if len(frame) == 0:
        raise InputError("no data rows", path=config.data)
    raw = ["" if pd.isna(v) else str(v) for v in frame[table.smiles_column].tolist()]
    vectors, errors = embed_smiles(loaded.generator, raw, batch_size=config.batch_size,
                                   quiet=config.quiet)
    if out_path.name.lower().endswith(".npy"):
        tmp = out_path.with_name(out_path.name + ".part.npy")
        np.save(tmp, vectors)
        tmp.replace(out_path)
    else:
        columns = pd.DataFrame(vectors, columns=[f"emb_{j}" for j in range(vectors.shape[1])],
                               index=frame.index)
        frame = pd.concat([frame, columns], axis=1)
        frame["error"] = errors
        write_table(frame, out_path, force=config.force)
    n_bad = sum(1 for e in errors if e)
    seconds = time.perf_counter() - started
    log(f"embedded {len(raw) - n_bad} of {len(raw)} rows ({n_bad} with errors) as "
        f"{vectors.shape[1]}-d vectors in {seconds:.1f} s -> {out_path}")
    return EmbedResult(out_path, len(raw), len(raw) - n_bad, int(vectors.shape[1]), seconds)
