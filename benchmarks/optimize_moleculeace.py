"""Goal-directed generation judged on a MoleculeACE set: ``drugforge optimize`` vs the training set.

1. A drugforge model (``svm`` by default) is trained on the set's own training split (catalog
   ``moleculeace/<SET>``, pKi = 9 + y, since y = -log10(Ki in nM)) through ``drugforge train``'s
   workflow (``--split column:split``), so its test RMSE is known.
2. Objective: that model's predicted pKi (``sigmoid(low,high)``) with the hard constraint
   QED >= 0.5. ``drugforge optimize`` fine-tunes the prior (a pretrained chem-lm) toward it.
3. Reported per seed: the top 100 generated molecules' predicted pKi (mean, min) against the top
   100 of the training molecules that pass QED >= 0.5, scored by the same model; IntDiv (MOSES
   IntDiv1) of both; novelty (not in MOSES train, not in the set's training or test data);
   valid fraction; steps; wall time. Optionally the same count of plain prior samples (no
   reinforcement learning) as a baseline.

Usage (one seed per call keeps each call short; results are cached per seed)::

    nice -n 10 python benchmarks/optimize_moleculeace.py --prior runs/chem-lm-dev-6077 \\
        --set CHEMBL238_Ki --steps 250 --seed 0
    python benchmarks/optimize_moleculeace.py --report-only

Writes ``benchmarks/results/optimize/<SET>__<prior>__s<seed>.json`` and ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine, store

OUT = HERE / "results" / "optimize"
WORK = HERE / "work" / "optimize"


def train_model(name: str, seed: int) -> tuple[Path, dict[str, Any]]:
    """A drugforge svm on the set's training split; cached in benchmarks/work/optimize/."""
    from drugforge.molecules.data.catalog_load import load_dataset
    from drugforge.workflows.train import TrainConfig, run_train

    model_dir = WORK / f"{name}__svm__s{seed}"
    info_path = model_dir.with_suffix(".json")
    if (model_dir / "manifest.json").is_file() and info_path.is_file():
        return model_dir, json.loads(info_path.read_text())
    frame = load_dataset(f"moleculeace/{name}").frame
    data = pd.DataFrame({"smiles": frame["smiles"], "pKi": frame["y"] + 9.0,
                         "split": frame["split"]})  # fmt: skip
    WORK.mkdir(parents=True, exist_ok=True)
    csv = WORK / f"{name}.csv"
    data.to_csv(csv, index=False)
    t0 = time.perf_counter()
    result = run_train(TrainConfig(data=str(csv), out=str(model_dir), targets=["pKi"],
                                   split="column:split", model="svm", seed=seed, force=True,
                                   quiet=True))  # fmt: skip
    info = {"model": "svm", "test": result.final.evaluation.test_metrics,
            "train_seconds": time.perf_counter() - t0}  # fmt: skip
    info_path.write_text(json.dumps(info, indent=1, default=float))
    return model_dir, info


def canonical_set(smiles: list[str]) -> set[str]:
    from rdkit import Chem

    from drugforge.molecules.chem.mol import parse_smiles

    out = set()
    for s in smiles:
        mol = parse_smiles(s)
        if mol is not None:
            out.add(Chem.MolToSmiles(mol))
    return out


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    import torch

    from drugforge.molecules.chem.mol import parse_smiles
    from drugforge.molecules.chem.properties import property_values
    from drugforge.molecules.data.catalog_load import load_dataset
    from drugforge.molecules.generation.moses_reference import load_moses_split
    from drugforge.molecules.generation.sampling import sample_strings
    from drugforge.molecules.generation.scoring import Objective
    from drugforge.workflows.optimize import (
        OptimizeConfig,
        intdiv,
        objective_from_options,
        run_optimize,
    )

    torch.set_num_threads(args.threads)
    model_dir, model_info = train_model(args.set, 0)
    spec = f"model:{model_dir} name=pKi sigmoid({args.low:g},{args.high:g},{args.k:g})"
    objective = objective_from_options(scores=[spec], constraints=["qed>=0.5"])
    tag = f"{args.set}__{Path(args.prior).name}__s{seed}"
    out = WORK / f"{tag}.csv"
    t0 = time.perf_counter()
    result = run_optimize(OptimizeConfig(
        prior=args.prior, objective=objective, out=str(out), steps=args.steps,
        batch_size=args.batch_size, sigma=args.sigma, lr=args.lr, seed=seed, top=100,
        force=True, quiet=args.quiet, threads=args.threads,
        time_budget_minutes=args.time_budget_minutes,
    ))  # fmt: skip
    wall = time.perf_counter() - t0
    top = result.frame
    scorer = Objective(objective)

    # the training set's best, under the same model and the same QED >= 0.5 filter
    frame = load_dataset(f"moleculeace/{args.set}").frame
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    scored = scorer.score(train["smiles"].tolist())
    train_table = pd.DataFrame({"smiles": scored.smiles, "pKi_pred": scored.raw["pKi"],
                                "pKi_exp": train["y"] + 9.0, "passes": scored.passes})
    passing = train_table[train_table["passes"]].sort_values("pKi_pred", ascending=False)
    train_top = passing.head(100)

    reference_train = canonical_set(train["smiles"].tolist())
    reference_all = canonical_set(frame["smiles"].tolist())
    moses_train = set(load_moses_split("train"))
    gen = top["smiles"].tolist()
    novel = [s not in moses_train and s not in reference_all for s in gen]
    summary = result.summary
    row: dict[str, Any] = {
        "set": args.set, "prior": str(args.prior), "seed": seed, "model": model_info,
        "objective": objective.describe(), "sigma": args.sigma, "lr": args.lr,
        "batch_size": args.batch_size, "steps": summary["steps"],
        "stop_reason": summary["stop_reason"], "wall_seconds": wall,
        "valid_fraction": summary["valid_fraction"], "distinct_valid": summary["distinct_valid"],
        "trajectory": summary["trajectory"],
        "generated_top100": {
            "n": len(top), "n_pass_constraint": int(top["passes_filters"].sum()),
            "pki_mean": float(top["pKi"].mean()), "pki_min": float(top["pKi"].min()),
            "pki_max": float(top["pKi"].max()),
            "qed_min": float(np.min(property_values([parse_smiles(s) for s in top["smiles"]],
                                                    "qed")[0])),
            "intdiv1": summary["top"]["intdiv1"], "scaffolds": summary["top"]["scaffolds"],
            "novel_fraction": float(np.mean(novel)),
            "in_train_fraction": float(np.mean([s in reference_train for s in gen])),
        },
        "train_top100": {
            "n_passing_qed": len(passing), "n": len(train_top),
            "pki_pred_mean": float(train_top["pKi_pred"].mean()),
            "pki_pred_min": float(train_top["pKi_pred"].min()),
            "pki_exp_mean": float(train_top["pKi_exp"].mean()),
            "intdiv1": intdiv(train_top["smiles"].tolist())[0],
        },
        "machine": machine(), "threads": args.threads,
    }
    if args.prior_baseline:
        # the same number of plain prior samples, best 100 under the same objective
        n = summary["sampled"]
        t1 = time.perf_counter()
        strings = sample_strings(args.prior, n, seed=seed + 1000)
        base = scorer.score(strings).to_frame()
        base = base[base["valid"] & base["score"].notna()].drop_duplicates("smiles")
        base_top = base.sort_values("score", ascending=False).head(100)
        row["prior_top100"] = {
            "sampled": n, "valid_fraction": float(np.mean(scorer.score(strings).valid)),
            "pki_mean": float(base_top["pKi"].mean()), "pki_min": float(base_top["pKi"].min()),
            "n_pass_constraint": int(base_top["passes_filters"].sum()),
            "intdiv1": intdiv(base_top["smiles"].tolist())[0], "seconds": time.perf_counter() - t1,
        }
    store(OUT / f"{tag}.json", row)
    shutil.copyfile(out, OUT / f"{tag}_top100.csv")
    return row


def _ms(values: list[float], fmt: str = "{:.2f}") -> str:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return "-"
    if len(vals) == 1:
        return fmt.format(vals[0])
    return f"{fmt.format(np.mean(vals))} ± {fmt.format(np.std(vals, ddof=1))}"


def report() -> str:
    rows = [json.loads(p.read_text()) for p in sorted(OUT.glob("*__s*.json"))]
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["set"], Path(r["prior"]).name, r["steps"]), []).append(r)
    lines = [
        "# `drugforge optimize` on MoleculeACE: generated top-100 vs the training set's top-100",
        "",
        ("Written by `benchmarks/optimize_moleculeace.py`. Objective: predicted pKi of a drugforge "
        "`svm` trained on the set's training split (sigmoid-scored), hard constraint QED >= 0.5. "
        "The training set's top 100 are its molecules with QED >= 0.5 ranked by the *same* "
        "model's prediction. Novel = not in MOSES train and not in the set (train or test). "
        "IntDiv = MOSES IntDiv1 (Morgan r=2, 1024 bits). Mean ± SD over seeds."),
        "",
        ("| set | prior | steps | seeds | gen top-100 pKi mean | gen min | train top-100 pKi "
        "mean | train min | gen IntDiv | train IntDiv | novel | valid | wall s/seed | prior-only "
        "top-100 mean |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, prior, steps), group in sorted(groups.items()):
        g = [r["generated_top100"] for r in group]
        t = [r["train_top100"] for r in group]
        base = [r["prior_top100"]["pki_mean"] for r in group if "prior_top100" in r]
        lines.append(
            f"| {name} | {prior} | {steps} | {len(group)} | "
            f"{_ms([x['pki_mean'] for x in g])} | {_ms([x['pki_min'] for x in g])} | "
            f"{_ms([x['pki_pred_mean'] for x in t])} | {_ms([x['pki_pred_min'] for x in t])} | "
            f"{_ms([x['intdiv1'] for x in g], '{:.3f}')} | {_ms([x['intdiv1'] for x in t], '{:.3f}')} | "
            f"{_ms([x['novel_fraction'] for x in g], '{:.2f}')} | "
            f"{_ms([r['valid_fraction'] for r in group], '{:.2f}')} | "
            f"{_ms([r['wall_seconds'] for r in group], '{:.0f}')} | {_ms(base)} |"
        )  # fmt: skip
    if rows:
        lines += ["", ("Per set and prior (property model, its test RMSE on the set's test "
                       "split, RL settings, machine):"), ""]  # fmt: skip
        for (name, prior, steps), group in sorted(groups.items()):
            r0 = group[0]
            cpus = sorted({r["machine"]["cpu"] for r in group})
            lines.append(
                f"- {name}, {prior}: {r0['model']['model']}, test RMSE "
                f"{r0['model']['test'].get('rmse', float('nan')):.3f}; batch {r0['batch_size']}, "
                f"sigma {r0['sigma']}, lr {r0['lr']}, {steps} steps; {' / '.join(cpus)} "
                f"({r0['threads']} torch thread, shared CPU)"
            )  # fmt: skip
        lines += [
            "",
            ("Per seed (generated top-100 / train top-100 predicted pKi means, scaffolds among "
            "the generated top-100, score trajectory mean score per 10 steps, invalid = 0):"),
            "",
        ]
        for r in rows:
            traj = r["trajectory"]
            first, last = traj[0]["mean_score"], traj[-1]["mean_score"]
            lines.append(
                f"- {r['set']} ({Path(r['prior']).name}) seed {r['seed']} "
                f"({r['steps']} steps, {r['stop_reason']}): "
                f"{r['generated_top100']['pki_mean']:.2f} vs {r['train_top100']['pki_pred_mean']:.2f}"
                f"; {r['generated_top100']['scaffolds']} scaffolds; constraint met by "
                f"{r['generated_top100']['n_pass_constraint']}/100; mean score {first:.3f} -> "
                f"{last:.3f}; valid {r['valid_fraction']:.2f}"
            )  # fmt: skip
    lines += ["", NOTES]
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "README.md").write_text(text)
    return text


NOTES = """\
Notes. The property model is an SVR with a Tanimoto kernel on ECFP: for molecules unlike its
training data it predicts close to its intercept, so a high predicted pKi can only be reached by
moving into the chemistry of the set's potent compounds; the prior-only column shows what plain
sampling of the same number of molecules reaches. Generated molecules are ranked by the same
model that steered them, so their predicted pKi is optimistic as a potency estimate (the usual
caveat of goal-directed generation); the comparison asked for is under the same model. The
top-100 CSVs of each seed are beside this file."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prior", default="chem-lm", help="prior: shipped name or directory")
    parser.add_argument("--set", default="CHEMBL238_Ki")
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sigma", type=float, default=128.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--low", type=float, default=5.0, help="sigmoid low (pKi)")
    parser.add_argument("--high", type=float, default=9.0, help="sigmoid high (pKi)")
    parser.add_argument("--k", type=float, default=0.25, help="sigmoid steepness")
    parser.add_argument("--seed", type=int, action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--time-budget-minutes", type=float, default=None)
    parser.add_argument("--prior-baseline", action="store_true",
                        help="also score as many plain prior samples (no RL)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if not args.report_only:
        for seed in args.seed or [0]:
            row = run_seed(args, seed)
            print(json.dumps({k: row[k] for k in ("seed", "generated_top100", "train_top100")},
                             default=float))  # fmt: skip
    print(report())


if __name__ == "__main__":
    main()
