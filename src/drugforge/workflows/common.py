"""Small pieces shared by the workflows: input resolution, logging, output checks."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drugforge.molecules.data.catalog import dataset_info
from drugforge.molecules.data.catalog_load import load_dataset
from drugforge.molecules.data.io import MolTable, read_molecules
from drugforge.core.errors import InputError

Logger = Callable[[str], None]

OUTPUT_SUFFIXES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")


def make_logger(quiet: bool) -> Logger:
    """Messages go to stderr so that stdout stays clean for machine-readable output."""

    def log(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return log


def read_input(
    data: str,
    smiles_column: str | None = None,
    target_columns: list[str] | None = None,
) -> MolTable:
    """Read ``data`` as a file path, or, when no such file exists, as a catalog dataset name."""
    path = Path(data)
    if not path.exists() and _is_catalog_name(data):
        table = load_dataset(data)
        if smiles_column is not None or target_columns:
            # re-select columns on the catalog table through the same reader rules
            frame = table.frame
            for col in [smiles_column, *(target_columns or [])]:
                if col is not None and col not in frame.columns:
                    raise InputError(
                        f"column '{col}' not found; available: {', '.join(map(str, frame.columns))}",
                        path=data,
                    )
            if smiles_column is not None:
                table.smiles_column = smiles_column
            if target_columns:
                table.target_columns = list(target_columns)
        return table
    return read_molecules(path, smiles_column=smiles_column, target_columns=target_columns)


def _is_catalog_name(name: str) -> bool:
    try:
        dataset_info(name)
    except (InputError, ValueError, KeyError):
        return False
    return True


def check_output_path(out: str | Path, force: bool) -> Path:
    """Refuse an existing output without ``force`` and unknown output types, before any work."""
    path = Path(out)
    name = path.name.lower()
    if not name.endswith(OUTPUT_SUFFIXES):
        raise InputError(
            "unsupported output type; use .csv, .tsv or .parquet (optionally .gz)", path=path
        )
    if path.exists() and not force:
        raise InputError("output exists; use --force to overwrite", path=path)
    return path


def cpu_model() -> str:
    """The processor's model name ('AMD EPYC ...'), or what the platform says about it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def hardware_summary(device: Any = None) -> str:
    """'AMD EPYC ..., 2 logical CPUs, torch 1 threads[; GPU ...]' for model cards and results."""
    import torch

    text = f"{cpu_model()}, {os.cpu_count()} logical CPUs, torch {torch.get_num_threads()} threads"
    if device is not None and getattr(device, "type", None) == "cuda":
        text += f"; GPU {torch.cuda.get_device_name(device)}"
    return text
