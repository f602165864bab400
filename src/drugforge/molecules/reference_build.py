"""Build (or inspect) the shipped approved-drug reference of ``drugforge profile``::

    python -m drugforge.molecules.reference_build --build

profiles ChEMBL's approved drugs (:func:`~drugforge.molecules.data.reference_drugs.source_path`)
with :func:`~drugforge.molecules.profile.profile_frame`, the code users run, and writes the sorted
values of every reference column to ``resources/reference/approved_drugs.json`` with the source's
SHA-256 and this command. Without ``--build`` it prints the shipped file's metadata. It lives
above :mod:`drugforge.molecules.profile` because it runs the profile, which reads the reference
(:mod:`drugforge.molecules.data.reference_drugs`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drugforge.core.runtime import sha256_file
from drugforge.molecules.data.reference_drugs import (
    BUILD_COMMAND,
    SOURCE_NAME,
    load_reference,
    reference_path,
    source_path,
)

__all__ = ["build_reference", "main"]


def _compact(values: np.ndarray) -> list[float | int]:
    finite = np.sort(values[~np.isnan(values)])
    if np.all(finite == np.round(finite)):
        return [int(v) for v in finite]
    return [round(float(v), 4) for v in finite]


def build_reference(out: str | Path | None = None, *, quiet: bool = False) -> Path:
    """Profile the approved drugs and write the reference JSON (default: the shipped one)."""
    import pandas as pd
    from rdkit import __version__ as rdkit_version

    from drugforge import __version__
    from drugforge.molecules.profile import Profiler, profile_frame

    src = source_path()
    frame = pd.read_parquet(src)
    smiles = [s if isinstance(s, str) else "" for s in frame["smiles"].tolist()]
    profiler = Profiler(percentiles=False)
    profile = profile_frame(smiles, profiler=profiler)
    value_columns = profiler.reference_columns()
    ok = profile["error"] == ""
    columns = {c: _compact(profile.loc[ok, c].to_numpy(np.float64)) for c in value_columns}
    document = {
        "description": "sorted profile values of ChEMBL approved small-molecule drugs",
        "source": SOURCE_NAME,
        "source_sha256": sha256_file(src),
        "source_rows": len(frame),
        "n_molecules": int(ok.sum()),
        "command": BUILD_COMMAND,
        "drugforge_version": __version__,
        "rdkit_version": rdkit_version,
        "endpoints": profiler.endpoint_names(),
        "rounding": "floats rounded to 4 decimals",
        "percentile": "100 * (#{ref < v} + 0.5 * #{ref == v}) / n",
        "columns": columns,
    }
    target = Path(out) if out is not None else reference_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=0, allow_nan=False) + "\n", encoding="utf-8")
    load_reference.cache_clear()
    if not quiet:
        failed = len(frame) - int(ok.sum())
        print(
            f"wrote {target}: {int(ok.sum())} of {len(frame)} approved drugs "
            f"({failed} not profiled), {len(columns)} columns",
            file=sys.stderr,
        )
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``--build``: write the reference; otherwise print the shipped one's metadata."""
    parser = argparse.ArgumentParser(
        prog="python -m drugforge.molecules.reference_build",
        description="Build or inspect the approved-drug reference distributions.",
    )
    parser.add_argument("--build", action="store_true", help="profile the drugs, write the JSON")
    parser.add_argument("--out", default=None, help="where to write (default: the shipped file)")
    args = parser.parse_args(argv)
    if args.build:
        build_reference(args.out)
        return 0
    ref = load_reference()
    summary = {k: v for k, v in ref.metadata.items() if k != "columns"}
    summary["columns"] = {k: len(v) for k, v in ref.columns.items()}
    print(json.dumps(summary, indent=2, default=lambda x: None if math.isnan(x) else x))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
