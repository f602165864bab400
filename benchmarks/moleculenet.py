"""Tox21, BBBP, ESOL and FreeSolv, scaffold split, several seeds: drugforge vs Chemprop 2.3.1 side by side.

For each dataset and seed, ONE split is made with drugforge's balanced scaffold splitter on the
standardized data; the same train/val/test molecules are written to CSV and given to both tools.
drugforge trains through its public API (``--model auto`` by default: cross-validated choice on the
training part); Chemprop 2.3.1 trains with its defaults (``benchmarks/peers/chemprop_runner.py``).
Both are scored by the same metric code. Predict throughput is measured on the test molecules.

Usage::

    python benchmarks/moleculenet.py --datasets esol,freesolv,tox21 --seeds 0,1,2,3,4
    python benchmarks/moleculenet.py --tools drugforge          # skip the peer
    python benchmarks/moleculenet.py --report-only

Results are cached per (dataset, tool, model, seed) under ``benchmarks/results/``; reruns resume.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import RESULTS, SHARED_DATA, cached, machine, store

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

WORK = Path(__file__).resolve().parent / "work"
OUT = RESULTS / "drugforge" / "moleculenet"
DATASETS = {"esol": "moleculenet/esol", "freesolv": "moleculenet/freesolv",
            "tox21": "moleculenet/tox21", "bbbp": "moleculenet/bbbp"}


def prepared(name: str) -> Any:
    from drugforge.molecules.data.catalog_load import load_dataset
    from drugforge.molecules.data.dataset import prepare_dataset

    table = load_dataset(DATASETS[name], mirror=SHARED_DATA / "moleculenet")
    dataset, _ = prepare_dataset(table, skip_invalid=True)
    return dataset


def split_files(name: str, dataset: Any, seed: int) -> tuple[Any, dict[str, Path]]:
    from drugforge.molecules.data.splits import make_split

    split = make_split(dataset, "scaffold", seed=seed)
    split.assert_disjoint(len(dataset.smiles))
    folder = WORK / name / f"scaffold_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for part in ("train", "val", "test"):
        sub = dataset.subset(getattr(split, part))
        frame = pd.DataFrame(sub.y, columns=sub.target_names)
        frame.insert(0, "smiles", sub.smiles)
        paths[part] = folder / f"{part}.csv"
        frame.to_csv(paths[part], index=False)
    return split, paths


def score(task: str, y: np.ndarray, pred: np.ndarray, targets: list[str]) -> dict[str, float]:
    from drugforge.core.evaluation.metrics import compute_metrics

    return dict(compute_metrics(task, y, pred, targets).overall)


def run_drugforge(name: str, dataset: Any, split: Any, seed: int, model_name: str) -> dict[str, Any]:
    from drugforge.core.evaluation.fit import evaluate_split
    from drugforge.molecules.featurize import clear_cache
    from drugforge.molecules.models import build_model
    from drugforge.molecules.selection.auto import select_model

    path = OUT / f"{name}__{model_name}__s{seed}.json"
    hit = cached(path)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    if model_name == "auto":
        auto = select_model(dataset.subset(split.train), seed=seed, split_method="scaffold")
        info = {"auto_choice": auto.best.describe(), "auto_cv": auto.table()}
        params = dict(auto.best.params)
        if auto.best.name == "ensemble":
            params.setdefault("seed", seed)
        model = build_model(auto.best.name, dataset.task, **params)
    else:
        model = build_model(model_name, dataset.task)
    evaluation = evaluate_split(model, dataset, split, fit=True)
    train_seconds = time.perf_counter() - t0
    test = dataset.subset(split.test)
    clear_cache()  # time featurization too: evaluate_split has just cached the test features
    t1 = time.perf_counter()
    evaluation.model.predict(test.smiles)
    predict_seconds = time.perf_counter() - t1
    result = {
        "tool": "drugforge", "dataset": name, "model": model_name, "seed": seed,
        "metrics": score(dataset.task, test.y, evaluation.test_pred, dataset.target_names),
        "calibration": evaluation.calibration, "train_seconds": train_seconds,
        "predict_seconds": predict_seconds, "molecules_per_second": len(test.smiles) / predict_seconds,
        "n_train": len(split.train), "n_val": len(split.val), "n_test": len(split.test),
        "machine": machine(), **info,
    }
    store(path, result)
    return result


def run_chemprop(name: str, dataset: Any, paths: dict[str, Path], seed: int) -> dict[str, Any]:
    import chemprop_runner as cr

    test = pd.read_csv(paths["test"])
    config = {"dataset": name, "split": "drugforge-scaffold", "seed": seed, "epochs": 50,
              "train_sha": cr.file_sha256(paths["train"]), "test_sha": cr.file_sha256(paths["test"])}

    def compute() -> dict[str, Any]:
        return cr.run_chemprop(paths["train"], paths["val"], paths["test"], dataset.task,
                               dataset.target_names, seed)

    result = cr.cached(cr.result_path(f"moleculenet_{name}", "drugforge_scaffold", seed), config,
                       compute)
    pred = np.asarray(result["predictions"], dtype=float)
    result["metrics"] = score(dataset.task, test[dataset.target_names].to_numpy(dtype=float), pred,
                              dataset.target_names)
    return result


def chemprop_done(name: str, seed: int) -> bool:
    import chemprop_runner as cr

    return cr.result_path(f"moleculenet_{name}", "drugforge_scaffold", seed).is_file()


def summarize(rows: list[dict[str, Any]], metric: str) -> str:
    vals = [r["metrics"][metric] for r in rows]
    return f"{np.mean(vals):.3f} ± {np.std(vals, ddof=1) if len(vals) > 1 else 0.0:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="esol,freesolv,tox21")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--tools", default="drugforge,chemprop")
    parser.add_argument("--cached-peer-only", action="store_true",
                        help="use the peer's finished seeds only; never start a peer run")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    tools = args.tools.split(",")
    lines = ["| dataset | metric | drugforge " + args.model + " | Chemprop 2.3.1 | seeds | "
             "train time ratio (chemprop/drugforge) |",
             "|---|---|---|---|---|---|"]
    for name in args.datasets.split(","):
        dataset = prepared(name)
        metric = "rmse" if dataset.task == "regression" else "roc_auc"
        df_rows, cp_rows = [], []
        for seed in seeds:
            split, paths = split_files(name, dataset, seed)
            if "drugforge" in tools:
                r = run_drugforge(name, dataset, split, seed, args.model)
                df_rows.append(r)
                print(f"{name} s{seed} drugforge {metric} {r['metrics'][metric]:.3f} "
                      f"train {r['train_seconds']:.0f} s {r.get('auto_choice', '')}", flush=True)
            if "chemprop" in tools:
                if args.cached_peer_only and not chemprop_done(name, seed):
                    continue
                r = run_chemprop(name, dataset, paths, seed)
                cp_rows.append(r)
                print(f"{name} s{seed} chemprop  {metric} {r['metrics'][metric]:.3f} "
                      f"train {r['train_seconds']:.0f} s", flush=True)
        df_cell = summarize(df_rows, metric) if df_rows else ""
        cp_cell = summarize(cp_rows, metric) if cp_rows else ""
        if cp_rows and len(cp_rows) != len(df_rows):
            same = [r for r in df_rows if r["seed"] in {c["seed"] for c in cp_rows}]
            cp_cell += f" ({len(cp_rows)} seed(s); drugforge on the same: {summarize(same, metric)})"
        ratio = ""
        if df_rows and cp_rows:
            ratio = f"{np.mean([r['train_seconds'] for r in cp_rows]) / np.mean([r['train_seconds'] for r in df_rows]):.2f}"
        # predict throughput is measured by benchmarks/throughput.py (cold feature cache)
        lines.append(f"| {name} | {metric} | {df_cell} | {cp_cell} | {len(seeds)} | {ratio} |")
    table = "\n".join(lines)
    print(table)
    if set(tools) == {"drugforge", "chemprop"}:  # a one-tool run must not replace the table
        (RESULTS / f"moleculenet_table_{args.model}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
