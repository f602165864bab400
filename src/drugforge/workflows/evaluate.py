"""``drugforge evaluate``: score a saved model on a labelled file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from drugforge.core.artifacts import Prediction, load_model
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.evaluation.calibration import task_calibration_report
from drugforge.core.evaluation.fit import score
from drugforge.core.evaluation.report import write_report
from drugforge.core.runtime import make_logger
from drugforge.molecules.chem import StandardizerConfig
from drugforge.molecules.data.dataset import prepare_dataset
from drugforge.molecules.data.input import read_input


@dataclass
class EvaluateResult:
    metrics: dict[str, Any]
    per_task: dict[str, Any]
    calibration: dict[str, Any]
    n_molecules: int
    n_invalid: int
    report: dict[str, Path]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "per_task": self.per_task,
            "calibration": self.calibration,
            "n_molecules": self.n_molecules,
            "n_invalid": self.n_invalid,
            "report": {k: str(v) for k, v in self.report.items()},
        }


class EvaluateConfig(RunConfig):
    """The validated configuration of one ``drugforge evaluate`` run."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    data: str = Field(json_schema_extra={"cli": {"positional": True}})
    smiles_column: str | None = None
    out: str | None = Field(default=None, description="directory for the report")
    force: bool = False
    quiet: bool = False


def run_evaluate(config: EvaluateConfig) -> EvaluateResult:
    """Score the model in ``config.model_dir`` on ``config.data`` (a report in ``config.out``)."""
    return evaluate_file(config.model_dir, config.data, out_dir=config.out,
                         smiles_column=config.smiles_column, force=config.force,
                         quiet=config.quiet)  # fmt: skip


def evaluate_file(
    model_dir: str | Path,
    data: str,
    *,
    out_dir: str | Path | None = None,
    smiles_column: str | None = None,
    force: bool = False,
    quiet: bool = False,
) -> EvaluateResult:
    """Evaluate on every labelled, valid molecule of ``data`` (invalid rows are counted, skipped)."""
    log = make_logger(quiet)
    loaded = load_model(model_dir)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and out.exists() and not force:
        raise InputError("output directory exists; use --force to overwrite", path=out)
    table = read_input(data, smiles_column, loaded.target_names)
    dataset, prep = prepare_dataset(
        table,
        task=loaded.task,  # type: ignore[arg-type]
        skip_invalid=True,
        standardizer=StandardizerConfig.from_dict(loaded.standardizer),
        dedupe="mean",
    )
    # the molecules are standardized already (with the model's settings): the prepared path
    pred = Prediction.empty(len(dataset.smiles), len(loaded.target_names))
    loaded.predict_prepared(dataset.smiles, range(len(dataset.smiles)), pred)
    mean, std = pred.mean, pred.std
    result = score(loaded.task, dataset, mean)
    calibration = task_calibration_report(
        loaded.task, dataset.y, mean, std, target_names=loaded.target_names
    ) or {}
    reports: dict[str, Path] = {}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        reports = write_report(
            out,
            title=f"evaluation of {loaded.path.name} on {Path(data).name}",
            task=loaded.task,
            target_names=loaded.target_names,
            y_true=dataset.y,
            y_pred=mean,
            y_std=std,
            metrics=result.to_dict(),
            calibration=calibration,
            gate=None,
        )
    shown = {k: v for k, v in result.overall.items() if isinstance(v, float) and np.isfinite(v)}
    log(f"evaluated {len(dataset.smiles)} molecules ({prep.n_invalid} invalid skipped): "
        + ", ".join(f"{k} {v:.3f}" for k, v in shown.items()))
    return EvaluateResult(dict(result.overall), result.per_task, calibration,
                          len(dataset.smiles), prep.n_invalid, reports)
