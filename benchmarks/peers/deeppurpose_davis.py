"""DeepPurpose 0.1.5's CNN-CNN (DeepDTA) on DAVIS setting 1, the split drugforge uses.

Run with the DeepPurpose venv (``bash benchmarks/peers/setup_deeppurpose.sh``):

    benchmarks/.venv-deeppurpose/bin/python benchmarks/peers/deeppurpose_davis.py --epochs 100

Training folds ``train0..train4`` minus a seeded 10 % held out for model selection (the same
rows drugforge's ``--split column:split`` holds out for the same seed), test ``test``. DeepDTA's
configuration as DeepPurpose's README gives it (CNN drug and target encoders, filters 32/64/96,
kernels 4/6/8 and 4/8/12, MLP 1024-1024-512, batch 256, lr 1e-3). Appends one JSON line per run
to ``results/dti/deeppurpose_runs.jsonl``: test CI (pairs with different labels, prediction ties
count half, by brute force), MSE, seconds and seconds per epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent.parent
DAVIS = Path(os.environ.get("DRUGFORGE_DAVIS", HERE.parents[1] / "shared" / "data" / "dti" / "davis"))
OUT = HERE / "results" / "dti" / "deeppurpose_runs.jsonl"


def cindex(y: np.ndarray, p: np.ndarray) -> float:
    num = den = 0.0
    for i in range(len(y)):  # row by row: 5,010 test pairs, 12.5 M comparisons
        diff = y[i] - y[i + 1 :]
        keep = diff != 0
        s = np.sign(diff[keep]) * np.sign(p[i] - p[i + 1 :][keep])
        num += float((s > 0).sum() + 0.5 * (s == 0).sum())
        den += float(keep.sum())
    return num / den


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="smoke test: this many pairs per part")
    args = ap.parse_args()
    import torch
    from DeepPurpose import DTI as models
    from DeepPurpose import utils

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    pairs = pd.read_csv(DAVIS / "affinities.csv.gz", dtype={"drug_id": str})
    drugs = pd.read_csv(DAVIS / "drugs.csv", dtype={"drug_id": str}).set_index("drug_id").smiles
    targets = pd.read_csv(DAVIS / "targets.csv").set_index("target_id").target_sequence
    train = np.flatnonzero(pairs.split.str.startswith("train").to_numpy())
    held = np.random.default_rng(args.seed).permutation(train.size)[: round(0.1 * train.size)]
    val = np.sort(train[held])
    train = np.setdiff1d(train, val)
    test = np.flatnonzero((pairs.split == "test").to_numpy())
    if args.limit:
        train, val, test = train[: args.limit], val[: args.limit], test[: args.limit]

    def part(idx: np.ndarray) -> pd.DataFrame:
        rows = pairs.iloc[idx]
        return utils.data_process(rows.drug_id.map(drugs).to_numpy(),
                                  rows.target_id.map(targets).to_numpy(),
                                  rows.affinity.to_numpy(), "CNN", "CNN",
                                  split_method="no_split")  # fmt: skip

    started = time.perf_counter()
    tr, va, te = part(train), part(val), part(test)
    config = utils.generate_config(drug_encoding="CNN", target_encoding="CNN",
                                   cls_hidden_dims=[1024, 1024, 512], train_epoch=args.epochs,
                                   LR=0.001, batch_size=256, cnn_drug_filters=[32, 64, 96],
                                   cnn_target_filters=[32, 64, 96], cnn_drug_kernels=[4, 6, 8],
                                   cnn_target_kernels=[4, 8, 12],
                                   result_folder=str(HERE / "work" / "deeppurpose"))  # fmt: skip
    model = models.model_initialize(**config)
    t0 = time.perf_counter()
    model.train(tr, va)
    train_s = time.perf_counter() - t0
    pred = np.asarray(model.predict(te), dtype=float)
    y = pairs.affinity.to_numpy()[test]
    row = {"tool": "DeepPurpose 0.1.5 CNN-CNN", "seed": args.seed, "epochs": args.epochs,
           "ci": cindex(y, pred), "mse": float(np.mean((y - pred) ** 2)),
           "train_s": round(train_s, 1), "s_per_epoch": round(train_s / args.epochs, 1),
           "total_s": round(time.perf_counter() - started, 1), "threads": torch.get_num_threads()}
    if args.limit:
        print(json.dumps(row))
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
