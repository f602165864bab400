"""``drugforge demo``: the whole loop on a built-in dataset, offline.

Trains ``--model auto`` on a MoleculeACE potency set (the EC50 of compounds on the farnesoid X
receptor, CHEMBL2047, shipped in the MoleculeACE package) with its own train/test split, gates it
on an RMSE requirement, evaluates it again from disk, and predicts new molecules, one of them
invalid on purpose to show how bad rows are kept and explained.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from drugforge.core.config import RunConfig
from drugforge.core.runtime import make_logger
from drugforge.molecules.data.catalog_load import load_dataset
from drugforge.workflows.evaluate import EvaluateConfig, run_evaluate
from drugforge.workflows.predict import PredictConfig, run_predict
from drugforge.workflows.train import TrainConfig, run_train

DEMO_DATASET = "moleculeace/CHEMBL2047_EC50"
DEMO_REQUIREMENT = "rmse<=1.0"
DEMO_MOLECULES = {
    "obeticholic acid": "CC[C@@H]1[C@@H]2C[C@H](O)CC[C@]2(C)[C@H]2CC[C@]3(C)[C@@H](CC[C@@H](C)CCC(=O)O)CC[C@H]3[C@@H]2[C@@H]1O",
    "GW4064": "CC(C)c1onc(-c2c(Cl)cccc2Cl)c1COc1ccc(/C=C/c2cccc(C(=O)O)c2)c(Cl)c1",
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "not a molecule": "C1CC(=O",
}


class DemoConfig(RunConfig):
    """The validated configuration of one ``drugforge demo`` run."""

    out: str = "demo-out"  # replaced if it exists
    quiet: bool = False


def run_demo(config: DemoConfig) -> dict[str, Path]:
    """Run the demo into ``config.out`` (replaced if it exists); returns the paths it wrote."""
    quiet = config.quiet
    log = make_logger(quiet)
    root = Path(config.out)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    log(f"== drugforge demo: {DEMO_DATASET}, model auto, requirement {DEMO_REQUIREMENT}")
    train_config = TrainConfig(
        data=DEMO_DATASET,
        out=str(root / "model"),
        split="column:split",
        model="auto",
        require=[DEMO_REQUIREMENT],
        seed=0,
        quiet=quiet,
    )
    result = run_train(train_config)
    log("== evaluate the saved model again, from disk, on the held-out test molecules")
    test_file = root / "test_set.csv"
    frame = load_dataset(DEMO_DATASET).frame
    frame[frame["split"] == "test"].to_csv(test_file, index=False)
    run_evaluate(EvaluateConfig(model_dir=str(root / "model"), data=str(test_file),
                                out=str(root / "evaluation"), quiet=quiet))
    log("== predict new molecules (one invalid on purpose)")
    new = root / "new_molecules.csv"
    pd.DataFrame({"name": list(DEMO_MOLECULES), "smiles": list(DEMO_MOLECULES.values())}).to_csv(
        new, index=False
    )
    summary = run_predict(PredictConfig(model_dir=str(root / "model"), input=str(new),
                                        out=str(root / "predictions.csv"), quiet=quiet))
    if not quiet:
        print(summary.frame.to_string(index=False))
    assert result.out is not None
    return {
        "model": result.out,
        "report": result.out / "report.html",
        "evaluation": root / "evaluation",
        "predictions": root / "predictions.csv",
    }
