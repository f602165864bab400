"""``drugforge benchmark moses``: score generated molecules with the MOSES metrics.

Samples come from a file (every string counts, invalid ones included, as in MOSES) or from a
generator (``drugforge.molecules.generation.sampling.sample_strings``). The report holds every metric, the
number of samples, the seconds each step took, the machine's load, and the "Train" row published
by MOSES for comparison; it is printed as a table and written as JSON plus a markdown table.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.progress import Progress
from drugforge.core.runtime import make_logger
from drugforge.molecules.generation.moses import (
    METRIC_LABELS,
    MOSES_PUBLISHED_TRAIN,
    MosesResult,
    evaluate_moses,
)
from drugforge.molecules.generation.moses_reference import MosesReference, compute_reference

__all__ = [
    "MosesBenchmarkConfig",
    "MosesBenchmarkReport",
    "format_metric",
    "moses_benchmark",
    "read_smiles_file",
    "run_moses_benchmark",
]

_TABLE_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
_COLUMNS = ("raw", "smiles")  # "raw" (what a generator produced) wins over "smiles"


def read_smiles_file(path: str | os.PathLike[str]) -> tuple[list[str], list[int]]:
    """Strings of a SMILES file and the line number of each.

    * ``.csv``/``.tsv`` (optionally ``.gz``) and ``.parquet``: the ``raw`` column if present (the
      strings a generator produced, as ``drugforge generate`` writes them), else ``smiles``
      (any case). Every cell counts, an empty one included (an invalid sample).
    * any other file: one string per line, the first whitespace-separated field (``.smi``
      convention); blank lines are skipped and a first line reading ``smiles`` is a header.

    Raises
    ------
    InputError
        When the file is missing, has no usable column, or holds no string.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError("file not found", path=source)
    name = source.name.lower()
    if name.endswith(_TABLE_SUFFIXES) or name.endswith(".parquet"):
        strings = _read_table_column(source, name)
        lines = list(range(2, len(strings) + 2))
    else:
        strings, lines = _read_lines(source)
    if not strings:
        raise InputError("no SMILES in file", path=source)
    return strings, lines


def _read_table_column(source: Path, name: str) -> list[str]:
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(source)
        else:
            sep = "\t" if ".tsv" in name else ","
            frame = pd.read_csv(source, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"cannot read table: {' '.join(str(err).split())}", path=source) from None
    by_lower = {str(c).lower(): c for c in frame.columns}
    for wanted in _COLUMNS:
        if wanted in by_lower:
            column = frame[by_lower[wanted]]
            return ["" if pd.isna(v) else str(v) for v in column]
    raise InputError(
        f"no 'raw' or 'smiles' column; columns: {', '.join(map(str, frame.columns))}", path=source
    )


def _read_lines(source: Path) -> tuple[list[str], list[int]]:
    import gzip

    opener = gzip.open if source.name.lower().endswith(".gz") else open
    strings: list[str] = []
    lines: list[int] = []
    try:
        with opener(source, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if not fields:
                    continue
                if number == 1 and fields[0].lower() == "smiles":
                    continue
                strings.append(fields[0])
                lines.append(number)
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read file: {' '.join(str(err).split())}", path=source) from None
    return strings, lines


def format_metric(value: float | None) -> str:
    """Four significant decimals as MOSES prints them; NaN and missing values as ``-``."""
    if value is None or math.isnan(value):
        return "-"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4f}"


@dataclass
class MosesBenchmarkReport:
    """One run of ``drugforge benchmark moses``."""

    result: MosesResult
    source: dict[str, Any]
    n_requested: int
    total_seconds: float
    machine: dict[str, Any]
    references: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN written as null)."""
        r = self.result
        return _nan_to_none({
            "benchmark": "moses",
            "source": self.source,
            "n_requested": self.n_requested,
            "n_samples": r.n_samples,
            "n_valid": r.n_valid,
            "metrics": r.metrics,
            "published_train": MOSES_PUBLISHED_TRAIN,
            "published_train_source": "MOSES README / Polykovskiy et al. 2020, Train row",
            "seconds": r.seconds,
            "feature_stage_seconds": r.feature_stage_seconds,
            "total_seconds": self.total_seconds,
            "notes": r.notes,
            "references": self.references,
            "machine": self.machine,
        })  # fmt: skip

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(metric, value, published Train value, seconds) for every metric."""
        out = []
        seconds = self.result.seconds
        for name, value in self.result.metrics.items():
            spent = seconds.get(name, seconds.get("IntDiv") if name == "IntDiv2" else None)
            out.append((
                METRIC_LABELS.get(name, name),
                format_metric(value),
                format_metric(MOSES_PUBLISHED_TRAIN.get(name)),
                "-" if spent is None else f"{spent:.2f}",
            ))  # fmt: skip
        return out

    def format_table(self) -> str:
        """Plain-text table for the terminal."""
        header = ("metric", "value", "MOSES Train", "seconds")
        rows = [header, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                      for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
            for row in rows
        ]  # fmt: skip
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join([*lines, "", self._footer()])

    def to_markdown(self) -> str:
        """Markdown table with the same content as :meth:`format_table`."""
        lines = [
            "# MOSES metrics",
            "",
            "| metric | value | MOSES Train (published) | seconds |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows()]
        lines += ["", self._footer()]
        if self.result.notes:
            lines += ["", "Notes:", *[f"- {note}" for note in self.result.notes]]
        return "\n".join(lines) + "\n"

    def _footer(self) -> str:
        r = self.result
        shared = ", ".join(
            f"{k} {v:.1f}" for k, v in r.seconds.items() if k in ("features", "chemnet",
                                                                   "reference statistics")
        )  # fmt: skip
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in r.feature_stage_seconds.items())
        load = self.machine.get("load_average_start")
        return (
            f"{r.n_samples} samples ({r.n_valid} valid), {self.total_seconds:.1f} s in all; "
            f"steps shared by several metrics (s): {shared}; per-molecule work (s inside the "
            f"workers, summed): {cpu}; load average at start {load}"
        )


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj


def _machine() -> dict[str, Any]:
    import rdkit
    import torch

    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "rdkit": rdkit.__version__,
        "torch": torch.__version__,
        "load_average_start": load,
    }


def _custom_reference(
    path: str | os.PathLike[str], name: str, n_jobs: int, progress: Any
) -> MosesReference:
    strings, lines = read_smiles_file(path)
    return compute_reference(
        strings, name, n_jobs=n_jobs, progress=progress, source=path, lines=lines
    )


class MosesBenchmarkConfig(RunConfig):
    """The validated configuration of one ``drugforge benchmark moses`` run."""

    samples: str | None = Field(
        default=None, description="generated strings: one per line, or a CSV/TSV/Parquet with "
        "a raw or smiles column (invalid strings count, as in MOSES)",
        json_schema_extra={"cli": {"metavar": "FILE", "one_of": "source"}},
    )  # fmt: skip
    model: str | None = Field(
        default=None, description="generator directory or shipped name",
        json_schema_extra={"cli": {"metavar": "NAME", "one_of": "source"}},
    )  # fmt: skip
    n: int = Field(default=30000, description="number of samples (30000)")
    seed: int = Field(default=0, description="sampling seed for --model")
    out: str | None = Field(
        default=None, description="write the report as JSON and a markdown table beside it",
        json_schema_extra={"cli": {"metavar": "REPORT.json"}},
    )  # fmt: skip
    n_jobs: int = Field(
        default=1, description="worker processes for the per-molecule work (-1: all cores)"
    )
    test: str | None = Field(
        default=None, description="custom test set (default: MOSES test, statistics cached)",
        json_schema_extra={"cli": {"metavar": "FILE"}},
    )  # fmt: skip
    test_scaffolds: str | None = Field(
        default=None, description="custom scaffold test set (default: MOSES test_scaffolds)",
        json_schema_extra={"cli": {"metavar": "FILE"}},
    )  # fmt: skip
    train: str | None = Field(
        default=None, description="custom training set for novelty (default: MOSES train)",
        json_schema_extra={"cli": {"metavar": "FILE"}},
    )  # fmt: skip
    cache_dir: str | None = None  # reference statistics (default: the MOSES cache)
    force: bool = Field(default=False, description="overwrite --out")
    quiet: bool = False


def run_moses_benchmark(config: MosesBenchmarkConfig) -> MosesBenchmarkReport:
    """Score a generator's samples with every MOSES metric (see :func:`moses_benchmark`)."""
    return moses_benchmark(**config.model_dump(exclude={"config_version"}))


def moses_benchmark(
    *,
    samples: str | os.PathLike[str] | None = None,
    model: str | None = None,
    n: int = 30000,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    n_jobs: int = 1,
    quiet: bool = False,
    force: bool = False,
    test: str | os.PathLike[str] | None = None,
    test_scaffolds: str | os.PathLike[str] | None = None,
    train: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> MosesBenchmarkReport:
    """Score ``n`` samples (the first ``n`` strings of ``samples``, or ``n`` drawn from ``model``
    with ``seed``) with every MOSES metric; write ``out`` (.json) and a .md beside it.

    ``test``, ``test_scaffolds`` and ``train`` replace MOSES' own sets by SMILES files (custom
    benchmarks, or tiny ones for tests); by default MOSES' sets are used, with the reference
    statistics cached (:func:`drugforge.molecules.generation.moses_reference.reference_cache_dir`).
    """
    if (samples is None) == (model is None):
        raise InputError("give exactly one of --samples FILE or --model NAME")
    if n < 1:
        raise InputError(f"-n must be at least 1, got {n}")
    out_path = _check_out(out, force)
    log = make_logger(quiet)
    load_start = _machine()
    started = time.perf_counter()

    def progress(total: int, label: str) -> Progress:
        return Progress(total, label, quiet=quiet)

    strings: list[str]
    source: dict[str, Any]
    notes: list[str] = []
    if samples is not None:
        strings, _ = read_smiles_file(samples)
        source = {"samples": str(samples)}
        if len(strings) > n:
            strings = strings[:n]
        elif len(strings) < n:
            notes.append(f"the file holds {len(strings)} strings, fewer than -n {n}")
    else:
        from drugforge.molecules.generation.sampling import (
            sample_strings,  # lazily: pulls in the models
        )

        log(f"sampling {n} strings from {model} (seed {seed})")
        strings = sample_strings(str(model), n, seed=seed)
        source = {"model": model, "seed": seed}

    refs: dict[str, MosesReference | None] = {"test": None, "test_scaffolds": None}
    t = time.perf_counter()
    for key, path in (("test", test), ("test_scaffolds", test_scaffolds)):
        if path is not None:
            refs[key] = _custom_reference(path, key, n_jobs, progress)
    custom_seconds = time.perf_counter() - t
    train_strings = read_smiles_file(train)[0] if train is not None else None

    log(f"scoring {len(strings)} samples with the MOSES metrics")
    result = evaluate_moses(
        strings,
        test=refs["test"],
        test_scaffolds=refs["test_scaffolds"],
        train=train_strings,
        n_jobs=n_jobs,
        cache_dir=cache_dir,
        progress=progress,
    )
    result.notes[:0] = notes
    result.seconds["reference statistics"] = (
        result.seconds.get("reference statistics", 0.0) + custom_seconds
    )
    references = {
        key: ({"custom": str(path)} if path is not None else {"moses": key})
        for key, path in (("test", test), ("test_scaffolds", test_scaffolds), ("train", train))
    }
    report = MosesBenchmarkReport(
        result=result,
        source=source,
        n_requested=n,
        total_seconds=time.perf_counter() - started,
        machine={**load_start, "load_average_end": _machine()["load_average_start"]},
        references=references,
    )
    if out_path is not None:
        _write(report, out_path)
        log(f"wrote {out_path} and {out_path.with_suffix('.md')}")
    return report


def _check_out(out: str | os.PathLike[str] | None, force: bool) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() != ".json":
        raise InputError("the report must be a .json file (a .md table is written beside it)",
                         path=path)  # fmt: skip
    if path.exists() and not force:
        raise InputError("output exists; use --force to overwrite", path=path)
    return path


def _write(report: MosesBenchmarkReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    path.with_suffix(".md").write_text(report.to_markdown())
