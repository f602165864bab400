"""The TDC ADMET endpoints (and BBBP, Tox21) used by the issue-14 benchmarks and panel.

One place that says, per endpoint: the file in ``../shared/data/admet``, the task, the metric TDC
uses on its leaderboard, the profile column name (TDC's dataset name in lower case), units and a
description. ``split_files(name, seed)`` makes the one scaffold split that every tool of a
benchmark run sees: drugforge's balanced scaffold splitter (``drugforge train --split scaffold
--seed N`` makes the same one) on the standardized, de-duplicated molecules, 80/10/10, written to
``benchmarks/work/admet/<name>/scaffold_s<seed>/{train,val,test,all}.csv`` (``all.csv`` has a
``split`` column, for ``drugforge train --split column:split``).

    python benchmarks/admet_sets.py --seeds 0,1,2,3,4     # write every split file
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
SHARED_ADMET = BENCH.parent.parent / "shared" / "data" / "admet"
WORK = BENCH / "work" / "admet"
SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class AdmetSet:
    file: str  # TDC dataset name = file stem in ../shared/data/admet
    task: str  # regression | classification
    metric: str  # TDC leaderboard metric: mae | spearman | roc_auc | pr_auc
    units: str
    description: str

    @property
    def column(self) -> str:
        """The profile column: the TDC dataset name in lower case."""
        return self.file.lower()

    @property
    def path(self) -> Path:
        return SHARED_ADMET / f"{self.file}.csv"


_P = "probability"
SETS: tuple[AdmetSet, ...] = (
    AdmetSet("Caco2_Wang", "regression", "mae", "log10(cm/s)",
             "Caco-2 cell permeability, log10 of the apparent permeability Papp"),
    AdmetSet("HIA_Hou", "classification", "roc_auc", _P,
             "human intestinal absorption: P(absorbed, HIA+)"),
    AdmetSet("Pgp_Broccatelli", "classification", "roc_auc", _P,
             "P-glycoprotein inhibition: P(inhibitor)"),
    AdmetSet("Bioavailability_Ma", "classification", "roc_auc", _P,
             "oral bioavailability: P(F >= 20%)"),
    AdmetSet("Solubility_AqSolDB", "regression", "mae", "log10(mol/L)",
             "aqueous solubility logS (AqSolDB)"),
    AdmetSet("BBB_Martins", "classification", "roc_auc", _P,
             "blood-brain barrier penetration: P(crosses)"),
    AdmetSet("PPBR_AZ", "regression", "mae", "% bound", "plasma protein binding rate"),
    AdmetSet("VDss_Lombardo", "regression", "spearman", "L/kg",
             "volume of distribution at steady state"),
    AdmetSet("CYP2C9_Veith", "classification", "pr_auc", _P, "CYP2C9 inhibition: P(inhibitor)"),
    AdmetSet("CYP2D6_Veith", "classification", "pr_auc", _P, "CYP2D6 inhibition: P(inhibitor)"),
    AdmetSet("CYP3A4_Veith", "classification", "pr_auc", _P, "CYP3A4 inhibition: P(inhibitor)"),
    AdmetSet("CYP2C9_Substrate_CarbonMangels", "classification", "pr_auc", _P,
             "CYP2C9 substrate: P(substrate)"),
    AdmetSet("CYP2D6_Substrate_CarbonMangels", "classification", "pr_auc", _P,
             "CYP2D6 substrate: P(substrate)"),
    AdmetSet("CYP3A4_Substrate_CarbonMangels", "classification", "roc_auc", _P,
             "CYP3A4 substrate: P(substrate)"),
    AdmetSet("Half_Life_Obach", "regression", "spearman", "h", "human half-life"),
    AdmetSet("Clearance_Hepatocyte_AZ", "regression", "spearman", "uL/min/10^6 cells",
             "intrinsic clearance in human hepatocytes"),
    AdmetSet("Clearance_Microsome_AZ", "regression", "spearman", "mL/min/g",
             "intrinsic clearance in human liver microsomes"),
    AdmetSet("LD50_Zhu", "regression", "mae", "-log10(mol/kg)",
             "rat acute oral toxicity, -log10(LD50)"),
    AdmetSet("hERG", "classification", "roc_auc", _P, "hERG channel blockade: P(blocker)"),
    AdmetSet("AMES", "classification", "roc_auc", _P, "Ames mutagenicity: P(mutagenic)"),
    AdmetSet("DILI", "classification", "roc_auc", _P, "drug-induced liver injury: P(causes DILI)"),
)  # fmt: skip
BY_NAME = {s.file: s for s in SETS}
CLASSIFICATION = tuple(s.file for s in SETS if s.task == "classification")
REGRESSION = tuple(s.file for s in SETS if s.task == "regression")


def prepared(name: str) -> Any:
    """The standardized, de-duplicated data set (``y`` column renamed to the profile column)."""
    from drugforge.molecules.data.dataset import prepare_dataset
    from drugforge.molecules.data.input import read_input

    spec = BY_NAME[name]
    table = read_input(str(spec.path), "smiles", ["y"])
    dataset, _ = prepare_dataset(table, task=spec.task, skip_invalid=True)  # type: ignore[arg-type]
    return dataset


def split_files(name: str, seed: int, dataset: Any = None) -> tuple[Any, dict[str, Path]]:
    """The seed's scaffold split of ``name`` and its CSV files (written once, then reused)."""
    from drugforge.molecules.data.splits import make_split

    dataset = dataset if dataset is not None else prepared(name)
    split = make_split(dataset, "scaffold", seed=seed)
    split.assert_disjoint(len(dataset.smiles))
    folder = WORK / name / f"scaffold_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    parts = []
    for part in ("train", "val", "test"):
        sub = dataset.subset(getattr(split, part))
        frame = pd.DataFrame({"smiles": sub.smiles, "y": sub.y[:, 0]})
        paths[part] = folder / f"{part}.csv"
        frame.to_csv(paths[part], index=False)
        parts.append(frame.assign(split=part))
    paths["all"] = folder / "all.csv"
    pd.concat(parts).to_csv(paths["all"], index=False)
    return split, paths


def score(spec: AdmetSet, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """ROC-AUC and PR-AUC (classification) or MAE, RMSE, Spearman, R2 (regression)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=float).ravel()
    pred = np.asarray(pred, dtype=float).ravel()
    keep = np.isfinite(y) & np.isfinite(pred)
    y, pred = y[keep], pred[keep]
    if spec.task == "classification":
        return {"roc_auc": float(roc_auc_score(y, pred)),
                "pr_auc": float(average_precision_score(y, pred)),
                "brier": float(np.mean((pred - y) ** 2))}
    err = pred - y
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
            "spearman": float(spearmanr(y, pred).statistic),
            "r2": float(1 - np.sum(err**2) / np.sum((y - y.mean()) ** 2))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--sets", default=",".join(s.file for s in SETS))
    args = parser.parse_args()
    summary = {}
    for name in args.sets.split(","):
        dataset = prepared(name)
        for seed in (int(s) for s in args.seeds.split(",")):
            split, _ = split_files(name, seed, dataset)
            summary[f"{name}/s{seed}"] = [len(split.train), len(split.val), len(split.test)]
        print(name, summary[f"{name}/s0"], flush=True)
    (WORK / "splits.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
