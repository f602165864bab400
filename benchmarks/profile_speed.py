"""Throughput of ``drugforge profile`` on MOSES molecules, and where the time goes.

    python benchmarks/profile_speed.py --n 20000 [--n-jobs 2] [--no-panel] [--out FILE.json]

Reads the MOSES test set from the installed ``molsets`` package (never imports ``moses``),
profiles ``--n`` molecules drawn with a fixed seed, and reports molecules/s (wall clock) and,
for the single-process run, microseconds per molecule of each component (``Profiler.timings``:
parse, screen, properties, alerts, rules, panel, percentiles, frame). For a clean number run it on
an otherwise idle machine: the load average at start and end is recorded with the result.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from drugforge.molecules.profile import Profiler, profile_many


def moses_test_smiles(n: int, seed: int) -> list[str]:
    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        sys.exit("MOSES data (molsets package) not installed")
    frame = pd.read_csv(Path(spec.origin).parent / "dataset" / "data" / "test.csv.gz")
    smiles = frame["SMILES"]
    if n > len(smiles):  # the test set has 176,074 molecules; repeat it for larger runs
        smiles = pd.concat([smiles] * (n // len(smiles) + 1), ignore_index=True)
    return smiles.sample(n, random_state=seed).tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--no-panel", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the result as JSON here")
    args = parser.parse_args()

    smiles = moses_test_smiles(args.n, args.seed)
    load_start = os.getloadavg()
    started = time.perf_counter()
    profiler = Profiler(panel=not args.no_panel)
    setup = time.perf_counter() - started
    cpu0 = time.process_time()
    started = time.perf_counter()
    frame = profile_many(smiles, profiler=profiler, n_jobs=args.n_jobs,
                         chunk_size=args.chunk_size, quiet=True)  # fmt: skip
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    result = {
        "molecules": len(smiles),
        "n_jobs": args.n_jobs,
        "panel": profiler.endpoint_names(),
        "setup_s": round(setup, 2),
        "wall_s": round(wall, 2),
        "mol_per_s": round(len(smiles) / wall, 1),
        "main_process_cpu_us_per_mol": round(cpu / len(smiles) * 1e6, 1),
        "errors": int((frame["error"] != "").sum()),
        "with_alert": int(frame["alerts"].ne("").sum()),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if args.n_jobs <= 1:
        result["component_us_per_mol"] = {
            k: round(v / len(smiles) * 1e6, 1) for k, v in profiler.timings.items()
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        out.with_suffix(".md").write_text(markdown(result, args))
    return 0


def markdown(result: dict[str, object], args: argparse.Namespace) -> str:
    """The result as the table docs/benchmarks.md shows."""
    intro = (
        f"`python benchmarks/profile_speed.py --n {args.n} --n-jobs {args.n_jobs}` on "
        f"{result['molecules']:,} MOSES test molecules (seed {args.seed}), in one process "
        f"(no streaming, no file output): {result['mol_per_s']:,} molecules/s, "
        f"{result['main_process_cpu_us_per_mol']} us of CPU per molecule; load average "
        f"{result['load_average_start']} at the start."
    )
    lines = [intro]
    parts = result.get("component_us_per_mol")
    if isinstance(parts, dict):
        total = sum(parts.values())
        lines += ["", "| component | us per molecule | share |", "|---|---:|---:|"]
        lines += [f"| {k} | {v:,.0f} | {v / total:.0%} |" for k, v in parts.items()]
        lines.append(f"| total | {total:,.0f} | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
