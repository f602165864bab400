"""Fit-and-evaluate on a split, with uncertainty calibrated on the validation part.

Uncertainty policy (written once, used by train, evaluate and predict):

* regression, model with native spread (GP, ensemble): ``std = scale_t * native_std``, where the
  per-target ``scale_t`` is fitted on the validation molecules so that standardized residuals have
  unit RMS;
* regression, model without native spread (SVM, GBM, single network): a constant per-target
  ``std_t`` estimated from the validation residuals (split-conformal style);
* classification: the members' spread of the probability when the model is an ensemble, else the
  Bernoulli standard deviation ``sqrt(p (1 - p))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drugforge.molecules.data.dataset import MoleculeDataset
from drugforge.molecules.data.splits import Split
from drugforge.core.evaluation.calibration import task_calibration_report
from drugforge.core.evaluation.uncertainty import apply_uncertainty, calibrate_uncertainty
from drugforge.core.evaluation.metrics import MetricsResult, compute_metrics
from drugforge.core.evaluation.report import write_report
from drugforge.molecules.models.base import MolecularPredictor


@dataclass
class Evaluation:
    """A fitted model with its validation/test predictions, metrics and calibration."""

    model: MolecularPredictor
    dataset: MoleculeDataset
    split: Split
    uncertainty: dict[str, Any]
    test_pred: np.ndarray
    test_std: np.ndarray
    test_result: MetricsResult
    val_metrics: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)

    @property
    def test_metrics(self) -> dict[str, float]:
        return dict(self.test_result.overall)

    def write_report(
        self, out_dir: Path, *, title: str, gate: dict[str, Any] | None = None
    ) -> dict[str, Path]:
        test = self.dataset.subset(self.split.test)
        return write_report(
            out_dir,
            title=title,
            task=self.dataset.task,
            target_names=self.dataset.target_names,
            y_true=test.y,
            y_pred=self.test_pred,
            y_std=self.test_std,
            metrics=self.test_result.to_dict(),
            calibration=self.calibration,
            gate=gate,
        )


def score(
    task: str,
    dataset: MoleculeDataset,
    pred: np.ndarray,
) -> MetricsResult:
    """Metrics of ``pred`` against ``dataset`` (plus cliff RMSE when cliff labels exist)."""
    cliff = dataset.extra.get("cliff_mol") if dataset.extra else None
    extra = {"cliff_mol": cliff} if task == "regression" and cliff is not None else None
    return compute_metrics(task, dataset.y, pred, dataset.target_names, extra)


def evaluate_split(
    model: MolecularPredictor, dataset: MoleculeDataset, split: Split, *, fit: bool = True
) -> Evaluation:
    """Fit on ``split.train`` (early stopping on ``split.val``), calibrate on val, score test."""
    train, val, test = (dataset.subset(idx) for idx in (split.train, split.val, split.test))
    if fit:
        if len(val.smiles):
            model.fit(train.smiles, train.y, val.smiles, val.y)
        else:
            model.fit(train.smiles, train.y)
    task = dataset.task
    val_metrics: dict[str, float] = {}
    if len(val.smiles):
        val_mean, val_std = model.predict_dist(val.smiles)
        recipe = calibrate_uncertainty(task, val.y, val_mean, val_std)
        val_metrics = dict(score(task, val, val_mean).overall)
    else:
        # no validation molecules: calibrate on the training fit (optimistic; recorded as such)
        tr_mean, tr_std = model.predict_dist(train.smiles)
        recipe = calibrate_uncertainty(task, train.y, tr_mean, tr_std)
        recipe["fitted_on"] = "train"
    mean, raw_std = model.predict_dist(test.smiles)
    std = apply_uncertainty(recipe, mean, raw_std)
    result = score(task, test, mean)
    calibration = task_calibration_report(task, test.y, mean, std, target_names=dataset.target_names) or {}
    return Evaluation(model, dataset, split, recipe, mean, std, result, val_metrics, calibration)
