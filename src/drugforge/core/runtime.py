"""Small pieces every command shares: messages, output-path checks, the machine's description.

Messages go to stderr so that stdout stays clean for machine-readable output; an output path is
checked (type, overwrite) before any work starts; results and model cards name the machine.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drugforge.core.errors import InputError

__all__ = [
    "OUTPUT_SUFFIXES",
    "Logger",
    "check_output_path",
    "cpu_model",
    "hardware_summary",
    "make_logger",
    "sha256_file",
]

Logger = Callable[[str], None]

OUTPUT_SUFFIXES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")


def make_logger(quiet: bool) -> Logger:
    """Messages go to stderr so that stdout stays clean for machine-readable output."""

    def log(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return log


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


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (artifact checksums, data hashes)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
