"""Quick MoleculeACE check of the kernel/tree models (developer scratch benchmark).

Trains each model on the MoleculeACE train split of every chosen set, reports test RMSE (and the
activity-cliff RMSE on ``cliff_mol == 1`` test molecules) per set, the mean over sets, and the
same for simple averages of the models' predictions. Defaults are chosen elsewhere (CV on train);
this script never tunes on test.

    python benchmarks/dev_moleculeace_quick.py                      # all 30 sets, svm gp gbm
    python benchmarks/dev_moleculeace_quick.py --models svm --limit 5
    python benchmarks/dev_moleculeace_quick.py --json results.json [--resume]

Measured with the current defaults (30 sets, test RMSE | cliff RMSE): svm 0.636 | 0.734,
gp 0.638 | 0.731, gbm 0.664 | 0.764, svm+gp 0.635, svm+gbm 0.632, svm+gp+gbm 0.630 | 0.728.
MoleculeACE's best published method (SVM on ECFP) averages 0.675.

The MoleculeACE package's ``__init__`` is broken, so its data folder is located without importing
it.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from drugforge.models.base import MolecularPredictor
from drugforge.models.gbm import GBMModel
from drugforge.models.gp import TanimotoGP
from drugforge.models.svm import TanimotoSVM

MODELS: dict[str, type[MolecularPredictor]] = {
    "svm": TanimotoSVM,
    "gp": TanimotoGP,
    "gbm": GBMModel,
}


def moleculeace_dir() -> Path:
    spec = importlib.util.find_spec("MoleculeACE")
    if spec is None or spec.origin is None:
        raise SystemExit("MoleculeACE is not installed (pip install MoleculeACE==3.0.0)")
    return Path(spec.origin).parent / "Data" / "benchmark_data"


def list_sets() -> list[str]:
    return sorted(p.stem for p in moleculeace_dir().glob("CHEMBL*.csv"))


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def run_set(name: str, models: list[str], params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    df = pd.read_csv(moleculeace_dir() / f"{name}.csv")
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    cliff = test["cliff_mol"].to_numpy() == 1
    y_test = test["y"].to_numpy()
    out: dict[str, Any] = {"set": name, "n_train": len(train), "n_test": len(test)}
    preds: dict[str, np.ndarray] = {}
    for m in models:
        model = MODELS[m](**params.get(m, {}))
        t0 = time.perf_counter()
        model.fit(train["smiles"].tolist(), train["y"].to_numpy())
        t_fit = time.perf_counter() - t0
        preds[m] = model.predict(test["smiles"].tolist())[:, 0]
        out[f"{m}_fit_s"] = round(t_fit, 2)
    for r in range(1, len(models) + 1):
        for combo in itertools.combinations(models, r):
            key = "+".join(combo)
            p = np.mean([preds[m] for m in combo], axis=0)
            out[key] = rmse(p, y_test)
            out[f"{key}_cliff"] = rmse(p[cliff], y_test[cliff]) if cliff.any() else float("nan")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="svm,gp,gbm", help="comma list from: svm, gp, gbm")
    ap.add_argument("--sets", default="", help="comma list of set names (default: all 30)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N sets")
    ap.add_argument(
        "--params",
        default="{}",
        help='JSON {"svm": {...}, "gp": {...}} constructor overrides (for ablations)',
    )
    ap.add_argument("--json", default="", help="write per-set results to this JSON file")
    ap.add_argument(
        "--resume", action="store_true", help="keep the sets already in --json, run the rest"
    )
    args = ap.parse_args(argv)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from: {', '.join(MODELS)}")
    sets = [s.strip() for s in args.sets.split(",") if s.strip()] or list_sets()
    if args.limit:
        sets = sets[: args.limit]
    params = json.loads(args.params)

    rows: list[dict[str, Any]] = []
    if args.resume and args.json and Path(args.json).exists():
        rows = [r for r in json.loads(Path(args.json).read_text()) if r["set"] in sets]
    done = {r["set"] for r in rows}
    for name in sets:
        if name in done:
            continue
        row = run_set(name, models, params)
        rows.append(row)
        cols = "  ".join(f"{m}={row[m]:.3f} ({row[m + '_fit_s']:.1f}s)" for m in models)
        print(f"{name:18s} n={row['n_train']:5d}  {cols}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))

    frame = pd.DataFrame(rows)
    keys = [
        "+".join(c) for r in range(1, len(models) + 1) for c in itertools.combinations(models, r)
    ]
    print(f"\nmean over {len(sets)} sets (test RMSE | cliff RMSE):")
    for k in sorted(keys, key=lambda k: frame[k].mean()):
        print(f"  {k:14s} {frame[k].mean():.4f} | {frame[k + '_cliff'].mean():.4f}")
    for m in models:
        print(
            f"  fit time {m}: mean {frame[m + '_fit_s'].mean():.1f}s, "
            f"max {frame[m + '_fit_s'].max():.1f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
