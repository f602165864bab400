"""``drugforge profile``: a ready drug-likeness and toxicity panel for any molecule, no training.

Reads the molecule file, profiles every row with :mod:`drugforge.molecules.profile` (which
documents the columns) and writes one output row per input row, in input order, with the
input's columns first. From 20,000 rows on, two worker processes share the work unless
``n_jobs`` says otherwise.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ConfigDict, Field

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.molecules.data.io import read_molecules, write_table
from drugforge.molecules.profile import (
    DEFAULT_MAX_HEAVY_ATOMS,
    Profiler,
    default_profiler,
    profile_many,
)

__all__ = ["ProfileConfig", "ProfileSummary", "run_profile"]

#: inputs at least this long use two worker processes when n_jobs is not given
_PARALLEL_FROM = 20_000


class ProfileConfig(RunConfig):
    """The validated configuration of one ``drugforge profile`` run."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(
        description="molecule file (CSV/TSV/SMI/SDF/Parquet, optionally .gz)",
        json_schema_extra={"cli": {"positional": True, "metavar": "input"}},
    )
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz)")
    smiles_column: str | None = None
    panel: bool = Field(
        default=True, description="skip the predicted endpoints (physicochemistry and alerts only)",
        json_schema_extra={"cli": {"flag": "--no-panel", "action": "store_false"}},
    )  # fmt: skip
    percentiles: bool = True
    max_heavy_atoms: int = Field(
        default=DEFAULT_MAX_HEAVY_ATOMS, ge=1,
        description=f"refuse bigger molecules with an error row (default {DEFAULT_MAX_HEAVY_ATOMS})",
    )  # fmt: skip
    n_jobs: int | None = Field(  # None: 2 workers from 20,000 rows on
        default=None, ge=1, description="worker processes (default: 2 from 20,000 rows on, else 1)"
    )
    chunk_size: int = Field(default=2000, ge=1)
    encoding: str | None = Field(default=None, description="text encoding of the input (utf-8)")
    force: bool = False
    quiet: bool = False


@dataclass
class ProfileSummary:
    out: Path
    n_rows: int
    n_profiled: int
    seconds: float
    endpoints: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else float("nan")


def run_profile(config: ProfileConfig) -> ProfileSummary:
    """Read ``config.data``, profile every row, write ``config.out`` (input columns kept)."""
    log = make_logger(config.quiet)
    out_path = check_output_path(config.out, config.force)
    started = time.perf_counter()
    table = read_molecules(
        config.data,
        smiles_column=config.smiles_column,
        target_columns=[],
        encoding=config.encoding,
    )
    frame = table.frame.reset_index(drop=True)
    if len(frame) == 0:
        raise InputError("no data rows", path=config.data)
    profiler = Profiler(
        panel=config.panel,
        percentiles=config.percentiles,
        max_heavy_atoms=config.max_heavy_atoms,
        log=log,
    )
    n_jobs = config.n_jobs
    if n_jobs is None:
        n_jobs = min(2, os.cpu_count() or 1) if len(frame) >= _PARALLEL_FROM else 1
    smiles = frame[table.smiles_column].tolist()
    profile = profile_many(
        smiles, profiler=profiler, n_jobs=n_jobs, chunk_size=config.chunk_size,
        quiet=config.quiet,
    )  # fmt: skip
    n_bad = int((profile["error"] != "").sum())
    existing = set(map(str, frame.columns))
    profile.columns = [c if c not in existing else f"{c}_profile" for c in profile.columns]
    result = pd.concat([frame, profile], axis=1)
    write_table(result, out_path, force=config.force)
    seconds = time.perf_counter() - started
    summary = ProfileSummary(
        out_path, len(frame), len(frame) - n_bad, seconds, profiler.endpoint_names()
    )
    log(
        f"profiled {summary.n_profiled} of {summary.n_rows} rows ({n_bad} with errors) in "
        f"{seconds:.1f} s ({summary.rate:.0f} rows/s) -> {out_path}"
    )
    return summary


class ProfileMoleculesConfig(RunConfig):
    """``POST /v1/profile``: the profile of SMILES given inline, one row each, in order."""

    smiles: list[str] = Field(description="the molecules; an invalid one is a row with an error")
    panel: bool = Field(default=True, description="include the predicted endpoints")
    percentiles: bool = Field(default=True, description="include approved-drug percentiles")
    max_heavy_atoms: int = Field(default=DEFAULT_MAX_HEAVY_ATOMS, ge=1,
                                 description="refuse bigger molecules with an error row")  # fmt: skip


def run_profile_molecules(config: ProfileMoleculesConfig) -> pd.DataFrame:
    """``smiles`` then every profile column and ``error`` ('' when fine), one row per input."""
    frame = default_profiler(config.panel, config.percentiles, config.max_heavy_atoms).profile(
        config.smiles
    )
    frame.insert(0, "smiles", list(config.smiles))
    return frame
