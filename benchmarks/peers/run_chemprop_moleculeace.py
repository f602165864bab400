"""Chemprop 2.3.1 on the 30 MoleculeACE activity-cliff sets, resumable.

Run with the project's python3 (MoleculeACE 3.0.0 installed there; its data files are read
in place, the package is never imported because its __init__ is broken):

    nohup python3 benchmarks/peers/run_chemprop_moleculeace.py \
        >> benchmarks/results/chemprop/moleculeace.log 2>&1 &

Per set: train = rows with split == 'train', test = split == 'test' (MoleculeACE's own split);
validation = a seeded random 10% of the train rows (numpy default_rng(0) permutation of the
train rows in file order, first round(0.1 * n_train)), used by Chemprop to pick its best epoch.
The exact row indices (0-based data rows of the CSV) are stored in each result as `split`, so
drugforge can train on exactly the same rows. Target `y` = -log10(exp_mean [nM]) (pKi/pEC50
minus 9, so RMSE is in log units as in the MoleculeACE paper), regression. Metrics: RMSE on
all test rows and on the activity-cliff test rows (cliff_mol == 1).

Each set's result is cached at benchmarks/results/chemprop/moleculeace/<SET>/<split id>/seed<N>.json
and skipped when rerun, so the campaign resumes after an interruption. A summary with means
is rewritten after every set: benchmarks/results/chemprop_moleculeace_summary.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chemprop_runner as cr

VAL_FRACTION = 0.1
VAL_SEED = 0
SPLIT_ID = f"moleculeace-val{VAL_SEED}"
SUMMARY_PATH = cr.RESULTS_DIR / "chemprop_moleculeace_summary.json"


def moleculeace_data_dir() -> Path:
    """MoleculeACE's bundled CSVs, located without importing the (broken) package."""
    spec = importlib.util.find_spec("MoleculeACE")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "MoleculeACE is not installed in this python: pip install MoleculeACE==3.0.0"
        )
    return Path(spec.origin).parent / "Data" / "benchmark_data"


def dataset_names(data_dir: Path) -> list[str]:
    return sorted(p.stem for p in data_dir.glob("CHEMBL*.csv"))


def moleculeace_split(df: pd.DataFrame) -> dict[str, list[int]]:
    """MoleculeACE train/test with a seeded 10% of train carved out as validation."""
    train_rows = np.flatnonzero(df["split"].to_numpy() == "train")
    test_rows = np.flatnonzero(df["split"].to_numpy() == "test")
    perm = np.random.default_rng(VAL_SEED).permutation(len(train_rows))
    n_val = round(VAL_FRACTION * len(train_rows))
    return {
        "train": sorted(train_rows[perm[n_val:]].tolist()),
        "val": sorted(train_rows[perm[:n_val]].tolist()),
        "test": test_rows.tolist(),
    }


def run_set(
    name: str, data_dir: Path, seed: int, epochs: int, force: bool, results_root: Path
) -> dict[str, Any]:
    csv = data_dir / f"{name}.csv"
    df = pd.read_csv(csv)
    split = moleculeace_split(df)
    config = {
        "benchmark": "moleculeace",
        "dataset": name,
        "data_sha256": cr.file_sha256(csv),
        "split_id": SPLIT_ID,
        "val_fraction": VAL_FRACTION,
        "val_seed": VAL_SEED,
        "task": "regression",
        "target_columns": ["y"],
        "seed": seed,
        "epochs": epochs,
        "extra_args": [],
        "runner_version": cr.RUNNER_VERSION,
    }
    path = results_root / "moleculeace" / name / SPLIT_ID / f"seed{seed}.json"

    def compute() -> dict[str, Any]:
        res = cr.run_index_split(df, split, "regression", ["y"], seed, epochs=epochs)
        test = np.asarray(split["test"])
        y_true = df["y"].to_numpy(dtype=float)[test]
        y_pred = np.asarray(res["predictions"], dtype=float)[:, 0]
        cliff = df["cliff_mol"].to_numpy()[test] == 1
        res.update(
            dataset=name,
            split_id=SPLIT_ID,
            split=split,
            predictions=y_pred.tolist(),
            y_true=y_true.tolist(),
            cliff_mol=cliff.astype(int).tolist(),
            rmse=cr.rmse(y_true, y_pred),
            cliff_rmse=cr.rmse(y_true[cliff], y_pred[cliff]),
            n_cliff_test=int(cliff.sum()),
            metrics=cr.regression_metrics(y_true, y_pred),
        )
        return res

    return cr.cached(path, config, compute, force=force)


def write_summary(results: dict[str, dict[str, Any]], all_names: list[str], epochs: int) -> None:
    keys = ("rmse", "cliff_rmse", "train_seconds", "predict_seconds", "molecules_per_second",
            "train_seconds_excl_startup", "predict_seconds_excl_startup",
            "train_cpu_seconds", "predict_cpu_seconds")  # fmt: skip
    per_set = {
        name: {
            k: r.get(k) for k in (*keys, "n_train", "n_val", "n_test", "n_cliff_test", "best_epoch")
        }
        for name, r in sorted(results.items())
    }
    first = next(iter(results.values()), {})
    summary = {
        "tool": "chemprop",
        "versions": first.get("versions"),
        "benchmark": "MoleculeACE 3.0.0 (30 ChEMBL sets, its own train/test split)",
        "split_id": SPLIT_ID,
        "validation": f"random {VAL_FRACTION:.0%} of train, numpy default_rng({VAL_SEED})",
        "epochs": epochs,
        "train_command_example": first.get("train_command"),
        "predict_command_example": first.get("predict_command"),
        "machine": first.get("machine"),
        "n_sets_done": len(results),
        "n_sets_total": len(all_names),
        "complete": len(results) == len(all_names),
        "missing": [n for n in all_names if n not in results],
        "mean": {
            k: float(np.mean([r[k] for r in results.values() if r.get(k) is not None]))
            for k in keys
            if any(r.get(k) is not None for r in results.values())
        },
        "total_train_seconds": float(sum(r["train_seconds"] for r in results.values())),
        "per_set": per_set,
    }
    cr.write_json(SUMMARY_PATH, summary)


def main(argv: list[str] | None = None) -> int:
    cr.main_guard()
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sets", nargs="*", help="set names (default: all 30), e.g. CHEMBL2835_Ki")
    ap.add_argument("--seed", type=int, default=0, help="Chemprop --pytorch-seed/--data-seed")
    ap.add_argument("--epochs", type=int, default=50, help="Chemprop --epochs (its default: 50)")
    ap.add_argument(
        "--force", action="store_true", help="recompute results made with another config"
    )
    ap.add_argument("--results-dir", type=Path, default=cr.CHEMPROP_RESULTS_DIR,
                    help="root of the per-set JSON cache (a scratch dir for trial runs)")  # fmt: skip
    ap.add_argument("--no-summary", action="store_true", help="do not rewrite the summary JSON")
    args = ap.parse_args(argv)

    data_dir = moleculeace_data_dir()
    all_names = dataset_names(data_dir)
    names = args.sets or all_names
    unknown = sorted(set(names) - set(all_names))
    if unknown:
        raise SystemExit(f"unknown set(s) {unknown}; choose from: {', '.join(all_names)}")
    # Smallest sets first: early results arrive sooner.
    names = sorted(names, key=lambda n: (data_dir / f"{n}.csv").stat().st_size)

    results: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    t_start = time.time()
    for i, name in enumerate(names, 1):
        t0 = time.time()
        try:
            res = run_set(name, data_dir, args.seed, args.epochs, args.force, args.results_dir)
        except cr.CacheMismatchError as exc:
            print(f"[{i}/{len(names)}] {name}: SKIPPED, {exc}", flush=True)
            failed.append(name)
            continue
        except Exception:  # noqa: BLE001  (one bad set must not end a campaign of hours)
            print(f"[{i}/{len(names)}] {name}: FAILED\n{traceback.format_exc()}", flush=True)
            failed.append(name)
            continue
        results[name] = res
        tag = "cached" if res.get("cached") else f"{time.time() - t0:.0f}s"
        print(
            f"[{i}/{len(names)}] {name}: rmse={res['rmse']:.3f} cliff_rmse={res['cliff_rmse']:.3f} "
            f"n_train={res['n_train']} n_test={res['n_test']} best_epoch={res['best_epoch']} "
            f"train={res['train_seconds']:.0f}s predict={res['predict_seconds']:.1f}s ({tag}) "
            f"elapsed={(time.time() - t_start) / 60:.1f}min",
            flush=True,
        )
        if not args.no_summary and args.results_dir == cr.CHEMPROP_RESULTS_DIR:
            write_summary(results_all(args, all_names, data_dir), all_names, args.epochs)
    print(f"done: {len(results)} ok, {len(failed)} failed {failed}", flush=True)
    return 1 if failed else 0


def results_all(
    args: argparse.Namespace, all_names: list[str], data_dir: Path
) -> dict[str, dict[str, Any]]:
    """Every finished set on disk for this seed/epochs (also ones finished by earlier runs)."""
    import json

    out = {}
    for name in all_names:
        path = args.results_dir / "moleculeace" / name / SPLIT_ID / f"seed{args.seed}.json"
        if path.exists():
            res = json.loads(path.read_text())
            if res.get("config", {}).get("epochs") == args.epochs:
                out[name] = res
    return out


if __name__ == "__main__":
    raise SystemExit(main())
