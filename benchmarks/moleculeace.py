"""MoleculeACE (30 ChEMBL potency sets, their own train/test splits): drugforge vs the best
published method and vs Chemprop 2.3.1, side by side.

* ``published_svm`` reproduces the MoleculeACE paper's best method exactly: scikit-learn SVR (RBF)
  on ECFP4 1024-bit vectors with the per-set hyperparameters that ship in the MoleculeACE package.
* drugforge models (``svm gp gbm mlp mpnn auto``) are trained on the full training split through
  the public Python API; ``auto`` includes its cross-validated selection in the training time.
* Chemprop numbers are read from ``benchmarks/results/chemprop/`` (written by
  ``benchmarks/peers/run_chemprop_moleculeace.py`` on the same splits).

Usage::

    python benchmarks/moleculeace.py                     # all 30 sets, default models
    python benchmarks/moleculeace.py --sets CHEMBL204_Ki --models svm,auto
    python benchmarks/moleculeace.py --report-only       # tables from cached results

Every (set, model, seed) result is cached as JSON, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd
import yaml_free_config
from common import RESULTS, cached, machine, moleculeace_dir, moleculeace_sets, rmse, store

OUT = RESULTS / "drugforge" / "moleculeace"
CHEMPROP = RESULTS / "chemprop"
DEFAULT_MODELS = ("published_svm", "svm", "gp", "gbm", "mlp", "auto")


def load_set(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(moleculeace_dir() / f"{name}.csv")
    return frame[frame["split"] == "train"].reset_index(drop=True), frame[
        frame["split"] == "test"
    ].reset_index(drop=True)


def published_svm(name: str, train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """MoleculeACE's SVM_ECFP: SVR(rbf) with the shipped per-set hyperparameters."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from sklearn.svm import SVR

    config_path = moleculeace_dir().parent / "configures" / "benchmark" / name / "SVM_ECFP.yml"
    params = yaml_free_config.read_flat_yaml(config_path)

    def ecfp(smiles: list[str]) -> np.ndarray:
        # the same bits as the legacy GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
        return np.array([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles],
                        dtype=np.float64)

    model = SVR(**params).fit(ecfp(list(train["smiles"])), train["y"].to_numpy())
    return model.predict(ecfp(list(test["smiles"])))


def drugforge_model(name: str, train: pd.DataFrame, test: pd.DataFrame, seed: int) -> tuple[
    np.ndarray, dict[str, Any]
]:
    from drugforge.molecules.data.dataset import MoleculeDataset
    from drugforge.molecules.models import build_model
    from drugforge.molecules.selection.auto import select_model

    smiles = list(train["smiles"])
    y = train["y"].to_numpy(dtype=float)[:, None]
    info: dict[str, Any] = {}
    if name in ("auto", "auto+chem-lm"):
        from drugforge.molecules.selection.auto import CHEMLM_NAME, default_pool

        dataset = MoleculeDataset(smiles=smiles, y=y, target_names=["y"], task="regression",
                                  source_rows=np.arange(len(smiles)))
        # "auto": the pool without the language model (svm, gp, gbm); "auto+chem-lm" adds the
        # shipped chem-lm (frozen) on every set (by default auto adds it up to 1,000 molecules)
        pool = tuple(p for p in default_pool("regression", len(smiles)) if p != CHEMLM_NAME)
        if name == "auto+chem-lm":
            pool = (*pool, CHEMLM_NAME)
        auto = select_model(dataset, seed=seed, pool=pool)
        info["auto_pool"] = list(pool)
        info["auto_choice"] = auto.best.describe()
        info["auto_cv"] = auto.table()
        spec = auto.best
        params = dict(spec.params)
        if spec.name == "ensemble":
            params.setdefault("seed", seed)
        model = build_model(spec.name, "regression", **params)
    else:
        from drugforge.molecules.models import model_param_names

        accepted = model_param_names(name)
        model = build_model(name, "regression", **({"seed": seed} if "seed" in accepted else {}))
    model.fit(smiles, y)
    t0 = time.perf_counter()
    pred = model.predict(list(test["smiles"]))[:, 0]
    info["predict_seconds"] = time.perf_counter() - t0
    return pred, info


def run_one(name: str, model: str, seed: int) -> dict[str, Any]:
    path = OUT / f"{name}__{model}__s{seed}.json"
    hit = cached(path)
    if hit is not None:
        return hit
    train, test = load_set(name)
    t0 = time.perf_counter()
    if model == "published_svm":
        pred, info = published_svm(name, train, test), {}
    else:
        pred, info = drugforge_model(model, train, test, seed)
    seconds = time.perf_counter() - t0
    cliff = test["cliff_mol"].to_numpy() == 1
    result = {
        "set": name, "model": model, "seed": seed, "n_train": len(train), "n_test": len(test),
        "rmse": rmse(test["y"], pred), "cliff_rmse": rmse(test["y"][cliff], pred[cliff]),
        "train_seconds": seconds - info.get("predict_seconds", 0.0), "pred": pred,
        "machine": machine(), **info,
    }
    store(path, result)
    return result


def chemprop_result(name: str) -> dict[str, Any] | None:
    for path in sorted((CHEMPROP / "moleculeace" / name).glob("*/seed0.json")):
        data = json.loads(path.read_text())
        if "rmse" in data:
            return data
    return None


def report(sets: list[str], models: list[str], seeds: list[int]) -> str:
    rows = []
    for name in sets:
        row: dict[str, Any] = {"set": name}
        for model in models:
            vals = [cached(OUT / f"{name}__{model}__s{s}.json") for s in seeds]
            vals = [v for v in vals if v is not None]
            if vals:
                row[model] = float(np.mean([v["rmse"] for v in vals]))
                row[f"{model}_cliff"] = float(np.mean([v["cliff_rmse"] for v in vals]))
                row[f"{model}_s"] = float(np.mean([v["train_seconds"] for v in vals]))
                if model.startswith("auto"):  # the last auto column's choice is shown
                    row["auto_choice"] = vals[0].get("auto_choice", "")
        cp = chemprop_result(name)
        if cp is not None:
            row["chemprop"] = cp["rmse"]
            row["chemprop_cliff"] = cp.get("cliff_rmse", float("nan"))
            row["chemprop_s"] = cp.get("train_seconds", float("nan"))
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("set")
    cols = [m for m in [*models, "chemprop"] if m in frame.columns]
    lines = ["| set | " + " | ".join(cols) + " | auto choice |",
             "|---|" + "---|" * (len(cols) + 1)]
    for name, r in frame.iterrows():
        cells = [f"{r[c]:.3f}" if pd.notna(r.get(c)) else "" for c in cols]
        choice = r.get("auto_choice", "")
        choice = choice if isinstance(choice, str) else ""
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {choice} |")
    core = [m for m in models if m in frame.columns]
    complete = frame.dropna(subset=core)
    n = len(complete)

    def mean_cell(col: str, fmt: str) -> str:
        vals = complete[col].dropna() if col in complete else pd.Series(dtype=float)
        if vals.empty:
            return ""
        suffix = f" ({len(vals)} sets)" if len(vals) != n else ""
        return format(vals.mean(), fmt) + suffix

    lines.append(f"| mean RMSE ({n} sets) | " + " | ".join(f"**{mean_cell(c, '.3f')}**" for c in cols)
                 + " | |")
    lines.append("| mean cliff RMSE | " + " | ".join(mean_cell(c + "_cliff", ".3f") for c in cols)
                 + " | |")
    lines.append("| mean train s/set | " + " | ".join(mean_cell(c + "_s", ".1f") for c in cols)
                 + " | |")
    for auto in (m for m in core if m.startswith("auto")):
        if "published_svm" in complete:
            wins = int((complete[auto] < complete["published_svm"]).sum())
            lines.append(f"\n{auto} beats the published SVM (reproduced) on {wins} of {n} sets; "
                         f"{auto} train time per set: median {complete[auto + '_s'].median():.0f} s, "
                         f"max {complete[auto + '_s'].max():.0f} s")
        if "chemprop" in complete:
            both = complete.dropna(subset=["chemprop"])
            lines.append(f"{auto} beats Chemprop 2.3.1 on {int((both[auto] < both['chemprop']).sum())}"
                         f" of {len(both)} sets run with both")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="all")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--table", default="moleculeace_table.md", help="file under results/")
    args = parser.parse_args()
    sets = moleculeace_sets() if args.sets == "all" else args.sets.split(",")
    models = args.models.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    if not args.report_only:
        for name in sets:
            for model in models:
                for seed in seeds:
                    r = run_one(name, model, seed)
                    print(f"{name:<18} {model:<14} rmse {r['rmse']:.3f} cliff {r['cliff_rmse']:.3f}"
                          f" train {r['train_seconds']:.1f} s {r.get('auto_choice', '')}",
                          flush=True)
    table = report(sets, models, seeds)
    print(table)
    (RESULTS / args.table).write_text(table + "\n")


if __name__ == "__main__":
    main()
