"""The shipped panel recipe vs Chemprop 2.3.1 on the same scaffold splits, per endpoint.

Seed 0 is the shipped model itself (``benchmarks/work/panel/<group>_s0``, made by
``train_panel.py``); other seeds rerun the same ``drugforge train`` command with ``--seed N``.
Chemprop results come from ``benchmarks/moleculenet.py``'s cache (same splitter, same
standardized data, same seeds); a missing Chemprop run is started only with ``--run-peer``
(minutes to half an hour each on this machine). The script checks that both tools saw the same
test molecules before putting numbers side by side.

    python benchmarks/panel/compare_chemprop.py --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from panel_spec import GROUPS, RESULTS, WORK, Group, data_env, train_command


def drugforge_run(group: Group, seed: int) -> Path:
    model_dir = WORK / f"{group.name}_s{seed}" / "model"
    if not (model_dir / "manifest.json").is_file():
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(train_command(group, model_dir, seed), check=True, env=data_env())
    return model_dir


def per_task(task: str, y: np.ndarray, pred: np.ndarray, targets: list[str]) -> dict[str, float]:
    from drugforge.core.evaluation.metrics import compute_metrics

    key = "rmse" if task == "regression" else "roc_auc"
    res = compute_metrics(task, y, pred, targets)
    out = {t: float(res.per_task[t][key]) for t in targets} if len(targets) > 1 else {
        targets[0]: float(res.overall[key])}
    out["__overall__"] = float(res.overall[key])
    return out


def main() -> None:
    import moleculenet as mn  # benchmarks/moleculenet.py: splits and the cached Chemprop runs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--groups", default=",".join(g.name for g in GROUPS))
    parser.add_argument("--run-peer", action="store_true", help="start missing Chemprop runs")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows: list[dict[str, Any]] = []
    for group in GROUPS:
        if group.name not in args.groups.split(","):
            continue
        dataset = mn.prepared(group.name)
        for seed in seeds:
            split, paths = mn.split_files(group.name, dataset, seed)
            model_dir = drugforge_run(group, seed)
            saved = json.loads((model_dir / "split.json").read_text())["smiles"]
            test = pd.read_csv(paths["test"])
            if saved["test"] != test["smiles"].tolist() or len(saved["train"]) != len(split.train):
                raise SystemExit(f"{group.name} seed {seed}: drugforge train's split differs "
                                 "from the benchmark split; refusing to compare")  # fmt: skip
            y = test[dataset.target_names].to_numpy(dtype=float)
            from drugforge.core.artifacts import load_model

            loaded = load_model(model_dir)
            df_pred = loaded.model.predict(test["smiles"].tolist())
            df = per_task(group.task, y, df_pred, dataset.target_names)
            cp: dict[str, float] = {}
            if args.run_peer or mn.chemprop_done(group.name, seed):
                r = mn.run_chemprop(group.name, dataset, paths, seed)
                cp = per_task(group.task, y, np.asarray(r["predictions"], dtype=float),
                              dataset.target_names)  # fmt: skip
            for ep in group.endpoints:
                rows.append({"group": group.name, "endpoint": ep.name, "seed": seed,
                             "metric": "rmse" if group.task == "regression" else "roc_auc",
                             "drugforge": df[ep.target], "chemprop": cp.get(ep.target, np.nan),
                             "n_train": len(split.train), "n_val": len(split.val),
                             "n_test": len(split.test)})  # fmt: skip
            if len(group.endpoints) > 1:
                rows.append({"group": group.name, "endpoint": f"{group.name} (mean of tasks)",
                             "seed": seed, "metric": "roc_auc", "drugforge": df["__overall__"],
                             "chemprop": cp.get("__overall__", np.nan),
                             "n_train": len(split.train), "n_val": len(split.val),
                             "n_test": len(split.test)})  # fmt: skip
            print(f"{group.name} s{seed}: drugforge {df['__overall__']:.3f} "
                  f"chemprop {cp.get('__overall__', float('nan')):.3f}", flush=True)
    frame = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / "compare_chemprop_rows.csv", index=False)
    lines = [
        "# Shipped panel recipe vs Chemprop 2.3.1, same scaffold splits",
        "",
        ("Seed 0 is the shipped model. Lower RMSE / higher ROC-AUC is better. `both` = seeds where "
        "both tools ran; mean ± sd over those seeds. Made by "
        "`python benchmarks/panel/compare_chemprop.py`."),
        "",
        ("| endpoint | metric | split sizes (train/val/test, seed 0) | seed 0 drugforge | "
        "seed 0 Chemprop | seeds (both) | drugforge mean | Chemprop mean | drugforge better |"),
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for ep, part in frame.groupby("endpoint", sort=False):
        s0 = part[part.seed == 0].iloc[0] if (part.seed == 0).any() else part.iloc[0]
        both = part.dropna(subset=["chemprop"])
        lower = part.metric.iloc[0] == "rmse"
        wins = int(((both.drugforge < both.chemprop) if lower
                    else (both.drugforge > both.chemprop)).sum())  # fmt: skip

        def ms(v: pd.Series) -> str:
            return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"

        lines.append(
            f"| {ep} | {s0.metric} | {s0.n_train}/{s0.n_val}/{s0.n_test} | {s0.drugforge:.3f} | "
            f"{s0.chemprop:.3f} | {len(both)} | {ms(both.drugforge) if len(both) else ''} | "
            f"{ms(both.chemprop) if len(both) else ''} | {wins}/{len(both)} |"
        )
    text = "\n".join(lines) + "\n"
    (RESULTS / "compare_chemprop.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
