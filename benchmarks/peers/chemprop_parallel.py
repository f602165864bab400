"""Chemprop 2.3.1 on many prepared splits at once, several processes side by side (GPU or CPU).

For machines with many cores (and a GPU): the issue-14 benchmarks need Chemprop on 21 TDC sets x
5 scaffold splits, hours on a 2-core laptop. Each job is one ``chemprop train`` (defaults: D-MPNN,
hidden 300, depth 3, 50 epochs, batch 64, best epoch by validation loss; the same arguments as
``chemprop_runner.train_command``, only ``--accelerator`` differs) and one ``chemprop predict``
on that split's ``train/val/test.csv`` (written by ``benchmarks/admet_sets.py``). Results go to a
JSON-lines file, one line per finished job with the test predictions, so an interrupted run keeps
what it finished and a rerun skips it.

    python benchmarks/peers/chemprop_parallel.py --splits benchmarks/work/admet \
        --out results.jsonl --workers 12 --accelerator gpu
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

RUN = ("import sys; from chemprop.cli.main import main; sys.argv[0] = 'chemprop'; main()")


def chemprop(args: list[str], log: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    with log.open("a") as fh:
        done = subprocess.run([sys.executable, "-c", RUN, *args], stdout=fh, stderr=subprocess.STDOUT,
                              env=env, check=False)
    if done.returncode != 0:
        tail = log.read_text()[-2000:]
        raise RuntimeError(f"chemprop {args[0]} failed ({done.returncode}): {tail}")
    return time.perf_counter() - t0


def run_job(job: dict[str, Any], accelerator: str, epochs: int) -> dict[str, Any]:
    folder = Path(job["folder"])
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory(prefix="cp-") as tmp:
        work = Path(tmp)
        log = work / "log.txt"
        train_s = chemprop([
            "train", "--data-path", str(folder / "train.csv"), str(folder / "val.csv"),
            str(folder / "test.csv"), "--smiles-columns", "smiles", "--target-columns", "y",
            "--task-type", job["task"], "--epochs", str(epochs), "--pytorch-seed", str(job["seed"]),
            "--data-seed", str(job["seed"]), "--num-workers", "0", "--accelerator", accelerator,
            "--devices", "1", "--output-dir", str(work / "model"),
        ], log, env)  # fmt: skip
        models = sorted((work / "model").rglob("best*.pt"))
        if not models:
            raise RuntimeError(f"no model written: {log.read_text()[-2000:]}")
        test = pd.read_csv(folder / "test.csv")
        test[["smiles"]].to_csv(work / "test_smiles.csv", index=False)
        predict_s = chemprop([
            "predict", "--test-path", str(work / "test_smiles.csv"), "--smiles-columns", "smiles",
            "--model-paths", str(models[0]), "--output", str(work / "preds.csv"),
            "--num-workers", "0", "--accelerator", accelerator, "--devices", "1",
        ], log, env)  # fmt: skip
        preds = pd.read_csv(work / "preds.csv")
        column = next(c for c in preds.columns if c != "smiles")
        if preds["smiles"].tolist() != test["smiles"].tolist():
            raise RuntimeError("chemprop predictions are not in test order")
        return {"set": job["set"], "seed": job["seed"], "task": job["task"],
                "predictions": preds[column].astype(float).tolist(),
                "y": test["y"].astype(float).tolist(), "n_train": job["n_train"],
                "train_seconds": round(train_s, 1), "predict_seconds": round(predict_s, 1),
                "epochs": epochs, "accelerator": accelerator}


def jobs(splits: Path, seeds: list[int], sets: list[str] | None) -> list[dict[str, Any]]:
    out = []
    for seed in seeds:  # seed-major: a cut-off run still has whole seeds
        found = []
        for folder in sorted(splits.glob(f"*/scaffold_s{seed}")):
            name = folder.parent.name
            if sets and name not in sets:
                continue
            train = pd.read_csv(folder / "train.csv")
            y = train["y"].dropna()
            task = "classification" if set(y.unique()) <= {0.0, 1.0} else "regression"
            found.append({"set": name, "seed": seed, "folder": str(folder), "task": task,
                          "n_train": len(train)})
        out += sorted(found, key=lambda j: -j["n_train"])  # largest first
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--sets", default="")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--max-train", type=int, default=0,
                        help="only sets with at most this many training molecules (0: all)")
    args = parser.parse_args()
    done = set()
    if args.out.is_file():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["set"], r["seed"]))
    todo = [j for j in jobs(args.splits, [int(s) for s in args.seeds.split(",")],
                            [s for s in args.sets.split(",") if s])
            if (j["set"], j["seed"]) not in done
            and (args.max_train <= 0 or j["n_train"] <= args.max_train)]
    print(f"{len(todo)} jobs ({len(done)} done before), {args.workers} workers", flush=True)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run_job, j, args.accelerator, args.epochs): j for j in todo}
        for n, fut in enumerate(as_completed(futures), 1):
            j = futures[fut]
            try:
                r = fut.result()
            except Exception as err:  # noqa: BLE001 - report and go on with the other jobs
                print(f"FAILED {j['set']} s{j['seed']}: {err}", flush=True)
                continue
            with args.out.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
            print(f"[{n}/{len(todo)} {time.perf_counter() - t0:.0f} s] {r['set']} s{r['seed']}: "
                  f"train {r['train_seconds']} s", flush=True)


if __name__ == "__main__":
    main()
