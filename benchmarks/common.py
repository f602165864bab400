"""Helpers shared by the benchmark scripts: data location, machine info, result caching."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
SHARED_DATA = REPO.parent / "shared" / "data"


def moleculeace_dir() -> Path:
    spec = importlib.util.find_spec("MoleculeACE")  # never import it: its __init__ is broken
    if spec is None or spec.origin is None:
        raise SystemExit("MoleculeACE is not installed: pip install --no-deps MoleculeACE==3.0.0")
    return Path(spec.origin).parent / "Data" / "benchmark_data"


def moleculeace_sets() -> list[str]:
    return sorted(p.stem for p in moleculeace_dir().glob("CHEMBL*.csv"))


def machine() -> dict[str, Any]:
    from drugforge.core.runtime import cpu_model

    cpu = cpu_model()
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "commit": commit}


def cached(path: Path) -> dict[str, Any] | None:
    if path.is_file():
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    return None


def store(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=_default))
    os.replace(tmp, path)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj).__name__)


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(p)) ** 2)))


def mean_sd(values: list[float]) -> str:
    arr = np.asarray(values, dtype=float)
    if len(arr) == 1:
        return f"{arr[0]:.3f}"
    return f"{arr.mean():.3f} ± {arr.std(ddof=1):.3f}"
