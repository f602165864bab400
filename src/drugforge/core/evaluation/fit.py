"""Fit-and-evaluate on a split of any dataset, with uncertainty calibrated on the validation part.

:func:`evaluate_split` fits a model on ``split.train`` (early stopping on ``split.val``), fits the
uncertainty recipe on the validation rows (:mod:`drugforge.core.evaluation.uncertainty` writes
the policy down) and scores the test rows. A classifier's probabilities can be calibrated first
(:mod:`drugforge.core.evaluation.probability`): on out-of-fold predictions of the training rows
when the caller has them (``--model auto``), else on the validation rows; the test report then
shows the calibrated probabilities, with the Brier score of the raw ones beside it. It works on any :class:`~drugforge.core.dataset.Dataset`
and any model with ``fit``/``predict_dist`` over that dataset's ``inputs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from drugforge.core.dataset import Dataset
from drugforge.core.evaluation.calibration import task_calibration_report
from drugforge.core.evaluation.metrics import MetricsResult, compute_metrics
from drugforge.core.evaluation.probability import (
    CalibrationMethod,
    apply_probability_calibration,
    fit_probability_calibration,
)
from drugforge.core.evaluation.report import write_report
from drugforge.core.evaluation.target_transform import describe, forward, inverse, is_identity
from drugforge.core.evaluation.uncertainty import apply_uncertainty, calibrate_uncertainty
from drugforge.core.splits import Split

__all__ = ["Evaluation", "FitPredictor", "evaluate_split", "score"]


class FitPredictor(Protocol):
    """What fitting, evaluating and selecting need from a model (the scikit-learn-style
    predictor contract: ``X`` are a dataset's ``inputs``, ``y`` an ``(n, t)`` label matrix)."""

    def fit(
        self, X: Sequence[Any], y: Any, X_val: Sequence[Any] | None = None, y_val: Any = None
    ) -> Any: ...

    def predict(self, X: Sequence[Any]) -> np.ndarray: ...

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]: ...


M = TypeVar("M", bound=FitPredictor)


@dataclass
class Evaluation(Generic[M]):
    """A fitted model with its validation/test predictions, metrics and calibration."""

    model: M
    dataset: Dataset
    split: Split
    uncertainty: dict[str, Any]
    test_pred: np.ndarray
    test_std: np.ndarray
    test_result: MetricsResult
    val_metrics: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    #: the probability calibration recipe applied to every prediction ({} for none)
    probability_calibration: dict[str, Any] = field(default_factory=dict)
    #: the per-target transform the model was fitted under ({} for none); predictions, metrics
    #: and the reported std above are in the target's units
    target_transform: dict[str, Any] = field(default_factory=dict)

    @property
    def test_metrics(self) -> dict[str, float]:
        return dict(self.test_result.overall)

    def write_report(
        self,
        out_dir: Path,
        *,
        title: str,
        gate: dict[str, Any] | None = None,
        extra_sections: dict[str, Any] | None = None,
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
            extra_sections={**self.report_sections(), **(extra_sections or {})},
        )

    def report_sections(self) -> dict[str, Any]:
        """The report's sections on the target transform (regression: what was chosen, and
        why) and on probability calibration (when calibrated)."""
        sections: dict[str, Any] = {}
        if self.dataset.task == "regression" and self.target_transform.get("targets"):
            sections["Target transform"] = {
                "target transform": describe(self.target_transform),
                "requested": self.target_transform.get("requested"),
                **{f"why ({t.get('name')})": t.get("reason")
                   for t in self.target_transform.get("targets", [])},
            }  # fmt: skip
            if not is_identity(self.target_transform):
                sections["Target transform"]["scale"] = (
                    "the model is fitted on log10(y); predictions, metrics and the reported std "
                    "are in the target's units (std by the delta method)")
        tasks = self.probability_calibration.get("tasks")
        if not tasks:
            return sections
        test_cal = self.calibration.get("per_task", {})
        rows = []
        for name, task in zip(self.dataset.target_names, tasks, strict=True):
            rows.append({
                "target": name, "method": task.get("method"), "fitted on":
                self.probability_calibration.get("fitted_on"), "n": task.get("n"),
                "Brier before": task.get("brier_before"),
                "Brier after (cross-fitted)": task.get("brier_after"),
                "test Brier uncalibrated": test_cal.get(name, {}).get("brier_uncalibrated"),
                "test Brier": test_cal.get(name, {}).get("brier"),
            })  # fmt: skip
        return {**sections, "Probability calibration": rows}


def score(task: str, dataset: Dataset, pred: np.ndarray) -> MetricsResult:
    """Metrics of ``pred`` against ``dataset`` (plus cliff RMSE when cliff labels exist)."""
    cliff = dataset.extra.get("cliff_mol") if dataset.extra else None
    extra = {"cliff_mol": cliff} if task == "regression" and cliff is not None else None
    return compute_metrics(task, dataset.y, pred, dataset.target_names, extra)


def evaluate_split(
    model: M,
    dataset: Dataset,
    split: Split,
    *,
    fit: bool = True,
    calibrate: CalibrationMethod = "none",
    oof: np.ndarray | None = None,
    seed: int = 0,
    target_transform: dict[str, Any] | None = None,
) -> Evaluation[M]:
    """Fit on ``split.train`` (early stopping on ``split.val``), calibrate on val, score test.

    Classification with ``calibrate`` other than ``'none'``: a probability calibration is fitted
    on ``oof`` (out-of-fold predictions of the training rows, ``(n_train, t)``) when given, else
    on the validation rows, and applied to the validation and test probabilities.

    ``target_transform`` (:mod:`drugforge.core.evaluation.target_transform`): the model is fitted
    on the transformed labels and its uncertainty calibrated on that scale; predictions are
    transformed back before scoring, so every metric is in the target's units.
    """
    tt = dict(target_transform or {})
    train, val, test = (dataset.subset(idx) for idx in (split.train, split.val, split.test))
    if fit:
        if len(val):
            model.fit(train.inputs, forward(tt, train.y), val.inputs, forward(tt, val.y))
        else:
            model.fit(train.inputs, forward(tt, train.y))
    task = dataset.task
    val_mean, val_std = model.predict_dist(val.inputs) if len(val) else (None, None)
    prob_cal: dict[str, Any] = {}
    if task == "classification" and calibrate != "none":
        if oof is not None:
            prob_cal = fit_probability_calibration(
                train.y, oof, method=calibrate, fitted_on="out-of-fold (training set)", seed=seed
            )
        elif val_mean is not None:
            prob_cal = fit_probability_calibration(
                val.y, val_mean, method=calibrate, fitted_on="validation", seed=seed
            )
    val_metrics: dict[str, float] = {}
    if val_mean is not None:
        val_mean = apply_probability_calibration(prob_cal, val_mean)
        # the spread is calibrated on the model's scale (log10 residuals under a transform)
        recipe = calibrate_uncertainty(task, forward(tt, val.y), val_mean, val_std)
        val_metrics = dict(score(task, val, inverse(tt, val_mean)[0]).overall)
    else:
        # no validation rows: calibrate on the training fit (optimistic; recorded as such)
        tr_mean, tr_std = model.predict_dist(train.inputs)
        tr_mean = apply_probability_calibration(prob_cal, tr_mean)
        recipe = calibrate_uncertainty(task, forward(tt, train.y), tr_mean, tr_std)
        recipe["fitted_on"] = "train"
    raw_mean, raw_std = model.predict_dist(test.inputs)
    model_mean = apply_probability_calibration(prob_cal, raw_mean)
    model_std = apply_uncertainty(recipe, model_mean, raw_std)
    mean, back_std = inverse(tt, model_mean, model_std)
    std = model_std if back_std is None else back_std
    result = score(task, test, mean)
    calibration = (
        task_calibration_report(task, test.y, mean, std, target_names=dataset.target_names) or {}
    )
    if prob_cal.get("tasks"):  # the test Brier of the raw probabilities, to see the gain
        raw = task_calibration_report(task, test.y, raw_mean, target_names=dataset.target_names)
        assert raw is not None
        for name, row in raw["per_task"].items():
            calibration["per_task"][name]["brier_uncalibrated"] = row["brier"]
        calibration["overall"]["brier_uncalibrated"] = raw["overall"]["brier"]
    return Evaluation(model, dataset, split, recipe, mean, std, result, val_metrics, calibration,
                      prob_cal, tt)  # fmt: skip
