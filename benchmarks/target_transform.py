"""Does fitting on log10(y) pay on TDC's heavy-tailed regression sets? (issue 14)

For each set and scaffold seed, LightGBM (``gbm``, defaults) is fitted on the same drugforge
scaffold split (80/10/10, as ``drugforge train --split scaffold --seed N``) once on the raw
values (``--target-transform none``) and once on log10 (``log10``); the test Spearman (TDC's
metric for these sets) and MAE are computed in the target's units.

    PYTHONPATH=src python benchmarks/target_transform.py --sets VDss_Lombardo --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from drugforge.core.evaluation.fit import evaluate_split
from drugforge.core.evaluation.target_transform import choose_target_transform, describe
from drugforge.molecules.data.dataset import prepare_dataset
from drugforge.molecules.data.input import read_input
from drugforge.molecules.data.splits import make_split
from drugforge.molecules.models import build_model, model_param_names

SHARED_ADMET = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "admet"
SETS = ("VDss_Lombardo", "Half_Life_Obach", "Clearance_Hepatocyte_AZ", "Clearance_Microsome_AZ")


def run(name: str, seeds: list[int], model: str) -> list[dict[str, object]]:
    dataset, _ = prepare_dataset(read_input(str(SHARED_ADMET / f"{name}.csv"), None, ["y"]))
    rows: list[dict[str, object]] = []
    for seed in seeds:
        split = make_split(dataset, "scaffold", seed=seed, sizes=(0.8, 0.1, 0.1))
        train_y = dataset.subset(split.train).y
        auto = choose_target_transform("regression", train_y, ["y"], "auto", y_all=dataset.y)
        for requested in ("none", "log10"):
            recipe = choose_target_transform("regression", train_y, ["y"], requested,
                                             y_all=dataset.y)  # fmt: skip
            t0 = time.perf_counter()
            params = {k: seed for k in ("seed", "random_state") if k in model_param_names(model)}
            ev = evaluate_split(build_model(model, "regression", **params), dataset, split,
                                seed=seed, target_transform=recipe)  # fmt: skip
            m = ev.test_metrics
            rows.append({"set": name, "seed": seed, "transform": requested,
                         "auto_would_pick": describe(auto), "spearman": m["spearman"],
                         "mae": m["mae"], "rmse": m["rmse"],
                         "seconds": round(time.perf_counter() - t0, 1)})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="VDss_Lombardo")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--model", default="gbm")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = list(SETS) if args.sets == "all" else args.sets.split(",")
    for name in names:
        rows = run(name, seeds, args.model)
        print(f"\n{name} ({args.model}, scaffold seeds {args.seeds}): test Spearman / MAE")
        for requested in ("none", "log10"):
            sp = np.array([r["spearman"] for r in rows if r["transform"] == requested], float)
            mae = np.array([r["mae"] for r in rows if r["transform"] == requested], float)
            print(f"  {requested:<6} spearman {sp.mean():.3f} +- {sp.std():.3f}   "
                  f"mae {mae.mean():.3g} +- {mae.std():.2g}   per seed "
                  + " ".join(f"{v:.3f}" for v in sp))  # fmt: skip


if __name__ == "__main__":
    main()
