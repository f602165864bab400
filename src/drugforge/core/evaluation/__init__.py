"""Evaluation: masked multi-task metrics, uncertainty calibration, the acceptance gate and
reports (JSON + markdown + self-contained HTML)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drugforge.core.evaluation.calibration import (
    apply_std_scale,
    calibration_report,
    classification_calibration_report,
    expected_calibration_error,
    fit_std_scale,
    fit_std_scales,
    reliability_curve,
    task_calibration_report,
)
from drugforge.core.evaluation.gate import (
    GateResult,
    GateRow,
    Requirement,
    check_requirements,
    parse_requirement,
    parse_requirements,
    validate_requirements,
)
from drugforge.core.evaluation.metrics import (
    METRIC_DIRECTIONS,
    TASK_METRICS,
    MetricsResult,
    classification_metrics,
    cliff_rmse,
    compute_metrics,
    higher_is_better,
    metric_names,
    primary_metric,
    regression_metrics,
)

if TYPE_CHECKING:
    from drugforge.core.evaluation.report import write_report


def __getattr__(name: str) -> Any:
    # matplotlib is imported only when a report is written, not by every metrics user
    if name == "write_report":
        from drugforge.core.evaluation.report import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "METRIC_DIRECTIONS",
    "TASK_METRICS",
    "GateResult",
    "GateRow",
    "MetricsResult",
    "Requirement",
    "apply_std_scale",
    "calibration_report",
    "check_requirements",
    "classification_calibration_report",
    "classification_metrics",
    "cliff_rmse",
    "compute_metrics",
    "expected_calibration_error",
    "fit_std_scale",
    "fit_std_scales",
    "higher_is_better",
    "metric_names",
    "parse_requirement",
    "parse_requirements",
    "primary_metric",
    "regression_metrics",
    "reliability_curve",
    "task_calibration_report",
    "validate_requirements",
    "write_report",
]
