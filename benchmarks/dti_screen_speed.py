"""Throughput and peak memory of ``drugforge dti screen``: MOSES molecules against one kinase.

A pair-nn model (the default 5-member ensemble, trained on DAVIS setting 1; ``--epochs`` caps
its training, which changes its weights, not its predict cost) screens the first N molecules of
the MOSES training set against ABL1(E255K), keeping the top 1,000 by predicted affinity. Wall
time and the peak memory of the whole process tree (RSS and PSS, sampled every 0.2 s) are
written to ``results/dti/screen_speed.json`` and ``.md``.

    python benchmarks/dti_screen_speed.py --n 1000000 --n-jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dti_davis import DAVIS, OUT
from screen_scale import measured, moses_train

WORK = Path(__file__).resolve().parent / "work" / "dti"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--target-id", default="ABL1(E255K)")
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "drugforge"]
    model = WORK / f"pair-nn-e{args.epochs}"
    if not (model / "manifest.json").exists():
        subprocess.run([*cli, "dti", "train", "--pairs", str(DAVIS / "affinities.csv.gz"),
                        "--drugs", str(DAVIS / "drugs.csv"), "--targets", str(DAVIS / "targets.csv"),
                        "--split", "column:split", "--model", "pair-nn", "--model-param",
                        f"pair-nn.max_epochs={args.epochs}", "--out", str(model), "--force",
                        "--quiet"], check=True)  # fmt: skip
    library = WORK / f"moses_{args.n}.smi"
    if not library.exists():
        smiles = pd.read_csv(moses_train())["SMILES"].tolist()[: args.n]
        library.write_text("".join(f"{s}\n" for s in smiles))
    out = WORK / "hits.parquet"
    run = measured([*cli, "dti", "screen", str(model), str(library), "--target-id",
                    args.target_id, "--top", "1000", "--out", str(out), "--n-jobs",
                    str(args.n_jobs), "--force", "--quiet"])  # fmt: skip
    run.update(molecules=args.n, n_jobs=args.n_jobs, mol_per_s=round(args.n / run["wall_s"], 1),
               machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "screen_speed.json").write_text(json.dumps(run, indent=2) + "\n")
    (OUT / "screen_speed.md").write_text(
        "| molecules | processes | wall s | molecules/s | peak PSS MiB | peak RSS (sum) MiB | "
        "load before -> after |\n|---:|---:|---:|---:|---:|---:|---|\n"
        f"| {args.n:,} | {args.n_jobs} | {run['wall_s']:,.0f} | {run['mol_per_s']:,.0f} | "
        f"{run['peak_pss_mib']:,.0f} | {run['peak_rss_mib']:,.0f} | {run['load_before'][0]} -> "
        f"{run['load_after'][0]} |\n")  # fmt: skip
    print(json.dumps({k: v for k, v in run.items() if k != "stdout_tail"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
