"""DAVIS drug-target affinity: drugforge ``dti train`` on DeepDTA's setting 1 and cold splits.

Setting 1 trains on DeepDTA's folds ``train0..train4`` and scores ``test``; the cold splits
(``cold-drug``, ``cold-target``, ``cold-both``) keep every test drug/target out of training.
Beside the model, two baselines fitted on the same training pairs: each test pair predicted by
its drug's mean training affinity, and by its target's mean (the global training mean for a
drug or target with no training pairs). Rows go to ``results/dti/davis_rows.csv`` (appended,
one per setting, seed and method); ``--report`` writes ``results/dti/davis.md`` with mean ± sd.

    python benchmarks/dti_davis.py --settings setting1 --seeds 0 --model pair-nn
    python benchmarks/dti_davis.py --report
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DAVIS = Path(os.environ.get("DRUGFORGE_DAVIS", HERE.parents[1] / "shared" / "data" / "dti" / "davis"))
OUT = HERE / "results" / "dti"
ROWS = OUT / "davis_rows.csv"
FIELDS = ["setting", "seed", "method", "ci", "mse", "rm2", "pearson", "n_train", "n_test",
          "seconds", "machine"]  # fmt: skip


def _baselines(pairs: pd.DataFrame, train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
    tr = pairs.iloc[train]
    te = pairs.iloc[test]
    overall = float(tr.affinity.mean())
    out = {}
    for key, name in (("drug_id", "per-drug mean"), ("target_id", "per-target mean")):
        means = tr.groupby(key).affinity.mean()
        out[name] = te[key].map(means).fillna(overall).to_numpy(dtype=float)
    return out


def run(setting: str, seed: int, model: str, params: list[str]) -> list[dict[str, object]]:
    from drugforge.cli.options import convert
    from drugforge.core.evaluation.metrics import compute_metrics
    from drugforge.workflows.dti import DTITrainConfig, run_dti_train

    split = "column:split" if setting == "setting1" else setting
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        config = DTITrainConfig(
            pairs=str(DAVIS / "affinities.csv.gz"), drugs=str(DAVIS / "drugs.csv"),
            targets=str(DAVIS / "targets.csv"), split=split, seed=seed, model=model,
            model_params=convert(DTITrainConfig, "model_params", params) if params else {},
            out=str(Path(tmp) / "m"), quiet=False,
        )  # fmt: skip
        result = run_dti_train(config)
        seconds = time.perf_counter() - t0
        manifest = json.loads((result.out / "split.json").read_text())
    pairs = pd.read_csv(DAVIS / "affinities.csv.gz", dtype={"drug_id": str})
    train = np.asarray(manifest["train"] + manifest["val"])
    test = np.asarray(manifest["test"])
    y = pairs.affinity.to_numpy(dtype=float)[test][:, None]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    rows = []
    m = result.metrics["test"]
    rows.append({"setting": setting, "seed": seed, "method": f"drugforge {result.spec.describe()}",
                 "ci": m["ci"], "mse": m["mse"], "rm2": m["rm2"], "pearson": m["pearson"],
                 "n_train": len(train), "n_test": len(test), "seconds": round(seconds, 1),
                 "machine": machine})  # fmt: skip
    for name, pred in _baselines(pairs, train, test).items():
        b = compute_metrics("regression", y, pred[:, None], ["affinity"]).overall
        rows.append({"setting": setting, "seed": seed, "method": name, "ci": b["ci"],
                     "mse": b["mse"], "rm2": b["rm2"], "pearson": b["pearson"],
                     "n_train": len(train), "n_test": len(test), "seconds": 0.0,
                     "machine": machine})  # fmt: skip
    return rows


def report() -> str:
    rows = pd.read_csv(ROWS)
    lines = ["| setting | method | seeds | CI | MSE | r_m^2 | train s |", "|---|---|---|---|---|---|---|"]
    def ms(g: pd.DataFrame, col: str) -> str:
        v = g[col].to_numpy(dtype=float)
        return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"

    for (setting, method), g in rows.groupby(["setting", "method"], sort=False):
        secs = f"{g.seconds.mean():.0f}" if g.seconds.max() > 0 else "-"
        lines.append(f"| {setting} | {method} | {len(g)} | {ms(g, 'ci')} | {ms(g, 'mse')} | {ms(g, 'rm2')} "
                     f"| {secs} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    peer = OUT / "deeppurpose_runs.jsonl"
    if peer.is_file():
        runs = [json.loads(line) for line in peer.read_text().splitlines() if line.strip()]
        text += ("\nDeepPurpose 0.1.5 CNN-CNN (DeepDTA) on the same split and machine "
                 "(`benchmarks/peers/deeppurpose_davis.py`):\n\n"
                 "| epochs | CI | MSE | train s | s per epoch | threads |\n|---|---|---|---|---|---|\n")
        for r in runs:
            text += (f"| {r['epochs']} | {r['ci']:.3f} | {r['mse']:.3f} | {r['train_s']:.0f} | "
                     f"{r['s_per_epoch']:.0f} | {r['threads']} |\n")
    (OUT / "davis.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", default="setting1", help="setting1,cold-drug,cold-target,cold-both")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--model", default="pair-nn")
    ap.add_argument("--model-param", action="append", default=[])
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args(argv)
    if args.report:
        print(report())
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for setting in args.settings.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows = run(setting, seed, args.model, args.model_param)
            new = not ROWS.exists()
            with ROWS.open("a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=FIELDS)
                if new:
                    writer.writeheader()
                writer.writerows(rows)
            for r in rows:
                print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
