"""Chemprop 2.3.1 on one dataset CSV with a given index split, over several seeds; resumable.

Run with the project's python3. Examples (the data are read in place, never copied):

    python3 benchmarks/peers/run_chemprop_split.py \
        --data ../shared/data/moleculenet/tox21.csv --split splits/tox21_scaffold.json \
        --task classification --seeds 0 1 2
    python3 benchmarks/peers/run_chemprop_split.py \
        --data ../shared/data/moleculenet/esol.csv --split splits/esol_random.json \
        --task regression --targets logp --seeds 0 1 2

Split JSON: {"train": [...], "val": [...], "test": [...]} with 0-based data-row indices into the
CSV (header not counted), or a list of such objects (one run per split, ids <split id>-<i>).
Extra keys are ignored. Targets default to every column except the SMILES column.

Metrics, computed here in the project's Python: regression -> RMSE (also MAE, R2);
classification -> ROC-AUC per task on rows that have a label, averaged over tasks (a task whose
test labels are all one class is left out of the mean and listed).

Results: benchmarks/results/chemprop/<dataset>/<split id>/seed<N>.json (skipped when present
with the same config), and benchmarks/results/chemprop_<dataset>_<split id>_summary.json with
mean and standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chemprop_runner as cr


def load_splits(path: Path) -> list[tuple[str, dict[str, list[int]]]]:
    """(split id, split) pairs from a split JSON: one object, or a list of them."""
    raw = json.loads(path.read_text())
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        missing = [k for k in ("train", "val", "test") if k not in item]
        if missing:
            raise SystemExit(f"{path}: split {i} lacks {missing} (needs train, val, test)")
        split_id = path.stem if len(items) == 1 else f"{path.stem}-{i}"
        out.append((split_id, {k: [int(j) for j in item[k]] for k in ("train", "val", "test")}))
    return out


def check_split(split: dict[str, list[int]], n_rows: int, name: str) -> None:
    for k, rows in split.items():
        if not rows:
            raise SystemExit(f"split {name}: '{k}' is empty")
        bad = [r for r in rows if r < 0 or r >= n_rows]
        if bad:
            raise SystemExit(f"split {name}: '{k}' has rows outside 0..{n_rows - 1}: {bad[:5]}")
        if len(set(rows)) != len(rows):
            raise SystemExit(f"split {name}: '{k}' repeats rows")


def score(task: str, y_true: np.ndarray, y_pred: np.ndarray, targets: list[str]) -> dict[str, Any]:
    if task == "classification":
        return cr.classification_metrics(y_true, y_pred, targets)
    per_target = {
        t: cr.regression_metrics(y_true[:, j], y_pred[:, j]) for j, t in enumerate(targets)
    }
    out: dict[str, Any] = {
        k: float(np.mean([m[k] for m in per_target.values()])) for k in ("rmse", "mae", "r2")
    }
    if len(targets) > 1:
        out["per_target"] = per_target
    return out


def main(argv: list[str] | None = None) -> int:
    cr.main_guard()
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True, help="dataset CSV (read in place)")
    ap.add_argument("--split", type=Path, required=True, help="split JSON (row indices)")
    ap.add_argument("--task", choices=cr.TASKS, required=True)
    ap.add_argument("--targets", nargs="*", help="target columns (default: all but SMILES)")
    ap.add_argument("--smiles-column", default="smiles")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=50, help="Chemprop --epochs (its default: 50)")
    ap.add_argument("--dataset", help="name for the results (default: the CSV's stem)")
    ap.add_argument("--split-id", help="name of the split (default: the split file's stem)")
    ap.add_argument("--extra-args", default="", help="more chemprop train flags, one string")
    ap.add_argument(
        "--force", action="store_true", help="recompute results made with another config"
    )
    ap.add_argument("--results-dir", type=Path, default=cr.CHEMPROP_RESULTS_DIR,
                    help="root of the result cache (a scratch dir for trial runs)")  # fmt: skip
    args = ap.parse_args(argv)

    df = pd.read_csv(args.data)
    if args.smiles_column not in df.columns:
        raise SystemExit(f"{args.data}: no column {args.smiles_column!r}; has {list(df.columns)}")
    targets = args.targets or [c for c in df.columns if c != args.smiles_column]
    unknown = [t for t in targets if t not in df.columns]
    if unknown:
        raise SystemExit(f"unknown target(s) {unknown}; choose from: {', '.join(df.columns)}")
    dataset = args.dataset or args.data.stem
    extra = args.extra_args.split()
    splits = load_splits(args.split)
    if args.split_id and len(splits) == 1:
        splits = [(args.split_id, splits[0][1])]
    data_sha = cr.file_sha256(args.data)

    failed = 0
    for split_id, split in splits:
        check_split(split, len(df), split_id)
        runs: list[dict[str, Any]] = []
        for seed in args.seeds:
            t0 = time.time()
            try:
                res = run_one(df, split, split_id, seed, targets, dataset, data_sha, extra, args)
            except cr.CacheMismatchError as exc:
                print(f"{dataset}/{split_id}/seed{seed}: SKIPPED, {exc}", flush=True)
                failed += 1
                continue
            runs.append(res)
            main_metric = "roc_auc" if args.task == "classification" else "rmse"
            tag = "cached" if res.get("cached") else f"{time.time() - t0:.0f}s"
            print(
                f"{dataset}/{split_id}/seed{seed}: {main_metric}={res['metrics'][main_metric]:.4f} "
                f"n_train={res['n_train']} n_val={res['n_val']} n_test={res['n_test']} "
                f"best_epoch={res['best_epoch']} train={res['train_seconds']:.0f}s "
                f"predict={res['predict_seconds']:.1f}s ({tag})",
                flush=True,
            )
        if runs:
            root = (
                cr.RESULTS_DIR if args.results_dir == cr.CHEMPROP_RESULTS_DIR else args.results_dir
            )
            summary_path = root / f"chemprop_{_safe(dataset)}_{_safe(split_id)}_summary.json"
            cr.write_json(summary_path, summarize(runs, args.task))
            print(f"summary: {summary_path}", flush=True)
    return 1 if failed else 0


def run_one(
    df: pd.DataFrame,
    split: dict[str, list[int]],
    split_id: str,
    seed: int,
    targets: list[str],
    dataset: str,
    data_sha: str,
    extra: list[str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One (dataset, split, seed) run, from the cache when it was already made the same way."""
    config = {
        "dataset": dataset,
        "data_sha256": data_sha,
        "split_id": split_id,
        "split_sha256": cr.sha256_text(json.dumps(split, sort_keys=True)),
        "task": args.task,
        "target_columns": targets,
        "smiles_column": args.smiles_column,
        "seed": seed,
        "epochs": args.epochs,
        "extra_args": extra,
        "runner_version": cr.RUNNER_VERSION,
    }
    path = cr.result_path(dataset, split_id, seed)
    if args.results_dir != cr.CHEMPROP_RESULTS_DIR:
        path = args.results_dir / path.relative_to(cr.CHEMPROP_RESULTS_DIR)
    y_true = df[targets].to_numpy(dtype=float)[np.asarray(split["test"])]

    def compute() -> dict[str, Any]:
        res = cr.run_index_split(
            df, split, args.task, targets, seed, epochs=args.epochs, extra_args=extra,
            smiles_column=args.smiles_column,
        )  # fmt: skip
        y_pred = np.asarray(res["predictions"], dtype=float)
        res.update(
            dataset=dataset,
            data_path=str(args.data),
            split_id=split_id,
            split=split,
            y_true=y_true.tolist(),
            metrics=score(args.task, y_true, y_pred, targets),
        )
        return res

    return cr.cached(path, config, compute, force=args.force)


def summarize(runs: list[dict[str, Any]], task: str) -> dict[str, Any]:
    main_metric = "roc_auc" if task == "classification" else "rmse"
    timing = ("train_seconds", "predict_seconds", "molecules_per_second",
              "train_seconds_excl_startup", "predict_seconds_excl_startup",
              "train_cpu_seconds", "predict_cpu_seconds")  # fmt: skip

    def stats(values: list[float]) -> dict[str, float]:
        arr = np.asarray(values, dtype=float)
        return {
            "mean": float(np.mean(arr)),
            "std": float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0,
        }

    first = runs[0]
    return {
        "tool": "chemprop",
        "versions": first["versions"],
        "dataset": first["dataset"],
        "split_id": first["split_id"],
        "task": task,
        "target_columns": first["target_columns"],
        "epochs": first["epochs"],
        "seeds": [r["seed"] for r in runs],
        "metric": main_metric,
        main_metric: stats([r["metrics"][main_metric] for r in runs]),
        "per_seed": {str(r["seed"]): r["metrics"] for r in runs},
        **{k: stats([r[k] for r in runs]) for k in timing if all(k in r for r in runs)},
        "n_train": first["n_train"],
        "n_val": first["n_val"],
        "n_test": first["n_test"],
        "invalid_smiles_rows": first["invalid_smiles_rows"],
        "train_command_example": first["train_command"],
        "predict_command_example": first["predict_command"],
        "machine": first["machine"],
    }


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)


if __name__ == "__main__":
    raise SystemExit(main())
