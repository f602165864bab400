"""Do a code change's MoleculeACE results reproduce to the last digit?

Trains drugforge models (seed 0) on five MoleculeACE sets exactly as
``benchmarks/moleculeace.py`` does and records each test RMSE (``repr``, every digit) and the
SHA-256 of the prediction bytes. Run it before a change (``--out before.json``), then after it
(``--check before.json``): any difference in any digit is listed and the exit status is 1.

    OMP_NUM_THREADS=1 python benchmarks/reproduce_moleculeace.py --out before.json
    OMP_NUM_THREADS=1 python benchmarks/reproduce_moleculeace.py --check before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from common import rmse
from moleculeace import drugforge_model, load_set

SETS = ("CHEMBL2835_Ki", "CHEMBL2047_EC50", "CHEMBL1871_Ki", "CHEMBL4616_EC50", "CHEMBL4203_Ki")
MODELS = ("svm", "gp", "gbm", "mlp", "mpnn", "auto")


def measure(sets: list[str], models: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name in sets:
        train, test = load_set(name)
        for model in models:
            pred, _ = drugforge_model(model, train, test, 0)
            pred = np.ascontiguousarray(pred, dtype=np.float64)
            out[f"{name}/{model}"] = {
                "rmse": repr(rmse(test["y"], pred)),
                "pred_sha256": hashlib.sha256(pred.tobytes()).hexdigest(),
            }
            print(name, model, out[f"{name}/{model}"]["rmse"], flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the results here")
    parser.add_argument("--check", type=Path, default=None, help="compare with an earlier --out")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    results = measure(args.sets.split(","), args.models.split(","))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.check is not None:
        before = json.loads(args.check.read_text())
        diff = [k for k in results if before.get(k) != results[k]]
        for key in diff:
            print(f"DIFFERS {key}: before {before.get(key)} now {results[key]}")
        print(f"{len(results) - len(diff)} of {len(results)} results identical to {args.check}")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
