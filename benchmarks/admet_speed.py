"""Profile throughput with every shipped endpoint, beside ADMET-AI 2.0.1 and the floor.

On the same N MOSES molecules (the first N of ``screen_scale.py``'s shuffled library), one after
the other, each as a user runs it on this machine (all cores):

* ``drugforge screen LIB --profile`` (the full profile: properties, rules, alerts, all panel
  endpoints with uncertainty and applicability domain, approved-drug percentiles);
* ``drugforge screen LIB --properties <panel endpoints>``: only the predicted endpoints (ADMET-AI's
  job: its 41 columns are endpoints and 8 simple properties);
* the floor: the same streaming reader and worker processes doing only read, parse, standardize
  and the panel's count-ECFP4 fingerprint (``_floor`` below), nothing predicted or written;
* ``admet_predict`` (ADMET-AI 2.0.1, all its endpoints), on ``--peer-n`` of the molecules
  (ADMET-AI runs ~60 molecules/s here: 100k take ~30 min; its rate is size-independent after
  its start-up, which the run includes).

    python benchmarks/admet_speed.py --n 100000 --peer-n 10000 --repeats 3

drugforge's three runs are repeated ``--repeats`` times, interleaved (profile, endpoints, floor,
profile, ...), and reported as mean ± sd; ADMET-AI (minutes per run) runs once.

Writes ``benchmarks/results/admet/speed.json`` and ``speed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine
from screen_scale import VENV_BIN, WORK, cli, library, measured, prepare

OUT = RESULTS / "admet"


def _floor_worker(texts: list[str]) -> int:
    from rdkit import Chem

    from drugforge.molecules.chem import StandardizerConfig, standardize_many
    from drugforge.molecules.featurize import get_featurizer

    f = get_featurizer("ecfp", radius=2, size=2048, counts=True)
    clean, _ = standardize_many(texts, StandardizerConfig())
    n = 0
    for s in clean:
        if s is not None:
            mol = Chem.MolFromSmiles(s)
            if mol is not None:
                f(mol)
                n += 1
    return n


def floor_main(lib: str, n: int, n_jobs: int, chunk: int) -> None:
    from concurrent.futures import ProcessPoolExecutor

    lines = Path(lib).read_text().splitlines()[:n]
    chunks = [lines[i : i + chunk] for i in range(0, len(lines), chunk)]
    with ProcessPoolExecutor(n_jobs) as pool:
        done = sum(pool.map(_floor_worker, chunks))
    print(json.dumps({"featurized": done}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--peer-n", type=int, default=10_000)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    from drugforge.molecules.panel import list_panel

    endpoints = [ep.name for ep in list_panel()]
    if not library("100k").exists():
        prepare()
    work = WORK / "admet_speed"
    work.mkdir(parents=True, exist_ok=True)
    lib = work / f"lib_{args.n}.smi"
    lib.write_text("".join(line + "\n" for line in
                           library("1m").read_text().splitlines()[: args.n]))
    peer_csv = work / f"peer_{args.peer_n}.csv"
    pd.DataFrame({"smiles": lib.read_text().splitlines()[: args.peer_n]}).to_csv(peer_csv,
                                                                                 index=False)
    runs: dict[str, dict[str, Any]] = {}
    plans = {
        "profile": (args.n, [*cli(), "screen", str(lib), "--profile", "--out",
                             str(work / "profile.parquet"), "--force", "--quiet"]),
        "endpoints": (args.n, [*cli(), "screen", str(lib), "--properties", ",".join(endpoints),
                               "--out", str(work / "endpoints.parquet"), "--force", "--quiet"]),
        "floor": (args.n, [sys.executable, __file__, "_floor", str(lib), str(args.n),
                           str(os.cpu_count() or 1), "5000"]),
    }  # fmt: skip
    if not args.skip_peer:
        plans["admet_ai"] = (args.peer_n, [str(VENV_BIN / "admet_predict"), "--data_path",
                                           str(peer_csv), "--save_path",
                                           str(work / "admet.csv"), "--smiles_column", "smiles"])
    order = [name for _ in range(args.repeats) for name in plans if name != "admet_ai"]
    order += ["admet_ai"] if "admet_ai" in plans else []
    for name in order:
        n, cmd = plans[name]
        print(f"{name}: {' '.join(cmd)}", flush=True)
        run = measured(cmd)
        rate = round(n / run["wall_s"], 1)
        print(f"  {run['wall_s']} s, {rate} mol/s, peak PSS {run['peak_pss_mib']} MiB", flush=True)
        if name not in runs:
            runs[name] = dict(run, molecules=n, wall_s_runs=[], mol_per_s_runs=[])
        runs[name]["wall_s_runs"].append(run["wall_s"])
        runs[name]["mol_per_s_runs"].append(rate)
        runs[name]["peak_pss_mib"] = max(runs[name]["peak_pss_mib"], run["peak_pss_mib"])
    for run in runs.values():
        rates = np.asarray(run["mol_per_s_runs"])
        run["mol_per_s"] = round(float(rates.mean()), 1)
        run["mol_per_s_sd"] = round(float(rates.std(ddof=1)), 1) if len(rates) > 1 else 0.0
        run["wall_s"] = round(float(np.mean(run["wall_s_runs"])), 2)
    endpoint_columns = len(endpoints)
    if "admet_ai" in runs:
        admet = pd.read_csv(work / "admet.csv")
        runs["admet_ai"]["columns"] = len(admet.columns) - 1
    result = {"n": args.n, "peer_n": args.peer_n, "panel_endpoints": endpoint_columns,
              "runs": runs, "machine": machine(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "speed.json").write_text(json.dumps(result, indent=1, default=str))
    lines = ["# Profile throughput with every endpoint, beside ADMET-AI and the floor", "",
             (f"`python benchmarks/admet_speed.py --n {args.n} --peer-n {args.peer_n}` on "
              f"{machine()['cpus']} cores ({machine()['cpu']}), {result['date']}; the first "
              f"{args.n:,} molecules of the shuffled MOSES training set; {endpoint_columns} "
              "predicted panel endpoints."), "",
             "| run | molecules | runs | wall s (mean) | molecules/s (mean ± sd) | peak PSS MiB |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['molecules']:,} | {len(run['wall_s_runs'])} | "
                     f"{run['wall_s']} | {run['mol_per_s']:,} ± {run['mol_per_s_sd']:,} | "
                     f"{run['peak_pss_mib']:,} |")
    lines.append("")
    if "admet_ai" in runs:
        peer = runs["admet_ai"]["mol_per_s"]
        lines += [f"- ADMET-AI columns: {runs['admet_ai'].get('columns')}",
                  (f"- full profile / ADMET-AI: {runs['profile']['mol_per_s'] / peer:.1f}x "
                  "(goal >= 30x)"),
                  (f"- endpoints only / ADMET-AI: {runs['endpoints']['mol_per_s'] / peer:.1f}x "
                  "(goal >= 30x)")]
    floor = runs["floor"]["mol_per_s"]
    lines += [(f"- floor / full profile: {floor / runs['profile']['mol_per_s']:.2f}x the time "
              "(goal <= 3x)"),
              (f"- floor / endpoints only: {floor / runs['endpoints']['mol_per_s']:.2f}x the time "
              "(goal <= 3x)"), ""]
    (OUT / "speed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_floor":
        floor_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
