"""The acceptance gate: the user's requirement, checked against held-out metrics.

A requirement is ``METRIC OP NUMBER`` with ``OP`` one of ``<= >= < >`` (``≤ ≥`` accepted), and
optionally a target in brackets: ``rmse<=0.7``, ``roc_auc >= 0.8``, ``roc_auc[NR-AR]>=0.7``.
Several are joined by commas (or semicolons) or given as a list; all must hold. Without a
target the macro mean over tasks is checked. A metric that could not be measured (NaN or
missing) fails, with the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from drugforge.core.errors import GateFailedError, InputError
from drugforge.core.evaluation.metrics import (
    METRIC_BOUNDS,
    METRIC_DIRECTIONS,
    TASK_METRICS,
    MetricsResult,
)

Op = Literal["<=", ">=", "<", ">"]

#: common spellings accepted for registry names
METRIC_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "auc": "roc_auc",
        "auroc": "roc_auc",
        "rocauc": "roc_auc",
        "auprc": "pr_auc",
        "prauc": "pr_auc",
        "average_precision": "pr_auc",
        "ap": "pr_auc",
        "bacc": "balanced_accuracy",
        "acc": "accuracy",
        "logloss": "log_loss",
        "rmse_cliff": "cliff_rmse",
    }
)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_REQUIREMENT = re.compile(
    rf"""^\s*
    (?P<metric>[A-Za-z][A-Za-z0-9_]*)\s*
    (?:\[\s*(?P<target>[^\[\]]*?)\s*\])?\s*
    (?P<op><=|>=|=<|=>|<|>|≤|≥|==?)\s*
    (?P<threshold>{_NUMBER})\s*$""",
    re.VERBOSE,
)
_OP_SPELLINGS: Mapping[str, Op] = {
    "<=": "<=",
    "=<": "<=",
    "≤": "<=",
    ">=": ">=",
    "=>": ">=",
    "≥": ">=",
    "<": "<",
    ">": ">",
}


def _valid_metrics() -> str:
    return ", ".join(METRIC_DIRECTIONS)


def _num(x: float) -> str:
    """A threshold as the user wrote it: 0.7 -> '0.7', 1e-5 -> '1e-05' (no float noise)."""
    return f"{x:.12g}"


@dataclass(frozen=True)
class Requirement:
    """``metric op threshold``, for the macro mean (``target`` None) or one target."""

    metric: str
    op: Op
    threshold: float
    target: str | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRIC_DIRECTIONS:
            raise InputError(f"unknown metric '{self.metric}'; choose from: {_valid_metrics()}")
        if self.op not in ("<=", ">=", "<", ">"):
            raise InputError(f"unknown comparison '{self.op}'; choose from: <=, >=, <, >")
        if not math.isfinite(self.threshold):
            raise InputError(
                f"the threshold of a requirement must be a finite number, got {self.threshold}"
            )

    def __str__(self) -> str:
        where = f"[{self.target}]" if self.target is not None else ""
        return f"{self.metric}{where}{self.op}{_num(self.threshold)}"

    @property
    def label(self) -> str:
        """The metric as shown to users: ``rmse`` or ``roc_auc[NR-AR]``."""
        return self.metric if self.target is None else f"{self.metric}[{self.target}]"

    def is_met(self, value: float) -> bool:
        """Whether ``value`` satisfies the requirement (never for NaN)."""
        if math.isnan(value):
            return False
        if self.op == "<=":
            return value <= self.threshold
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<":
            return value < self.threshold
        return value > self.threshold

    @property
    def warnings(self) -> list[str]:
        """Suspicious but accepted: a direction against the metric's, or an unreachable bound."""
        out: list[str] = []
        direction = METRIC_DIRECTIONS[self.metric]
        asks_high = self.op in (">", ">=")
        if asks_high != (direction == "higher"):
            flipped = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}[self.op]
            where = f"[{self.target}]" if self.target is not None else ""
            out.append(
                f"'{self}' asks for {self.metric} to be "
                f"{'at least' if asks_high else 'at most'} {_num(self.threshold)}, but "
                f"{direction} {self.metric} is better; did you mean "
                f"'{self.metric}{where}{flipped}{_num(self.threshold)}'?"
            )
        lo, hi = METRIC_BOUNDS[self.metric]
        impossible = (
            (self.op == ">=" and self.threshold > hi)
            or (self.op == ">" and self.threshold >= hi)
            or (self.op == "<=" and self.threshold < lo)
            or (self.op == "<" and self.threshold <= lo)
        )
        if impossible:
            out.append(f"'{self}' can never be met: {self.metric} lies in [{lo:g}, {hi:g}]")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "op": self.op,
            "threshold": self.threshold,
            "target": self.target,
            "text": str(self),
        }


def _split_top_level(text: str) -> list[str]:
    """Split on commas/semicolons outside brackets (a target name may contain a comma)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch in ",;" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_requirement(text: str | Requirement) -> Requirement:
    """Parse one requirement such as ``"rmse<=0.7"`` or ``"roc_auc[NR-AR] >= 0.7"``.

    Raises :class:`InputError` for bad syntax, an unknown metric (the valid names are listed)
    or several requirements in one string (use :func:`parse_requirements`).
    """
    if isinstance(text, Requirement):
        return text
    if not isinstance(text, str):
        raise InputError(f"a requirement must be text like 'rmse<=0.7', got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise InputError("empty requirement; expected something like 'rmse<=0.7' or 'roc_auc>=0.8'")
    pieces = [p for p in _split_top_level(raw) if p]
    if len(pieces) > 1:
        raise InputError(f"'{raw}' holds {len(pieces)} requirements where one was expected")
    m = _REQUIREMENT.match(raw)
    if m is None:
        raise InputError(
            f"cannot read requirement '{raw}'; expected METRIC OP NUMBER with OP one of "
            f"<=, >=, <, > (e.g. 'rmse<=0.7', 'roc_auc[NR-AR]>=0.7')"
        )
    op_text = m.group("op")
    if op_text in ("=", "=="):
        raise InputError(
            f"requirement '{raw}' uses '{op_text}'; a metric is never exactly a number, "
            f"use <=, >=, < or >"
        )
    name = m.group("metric").lower()
    name = METRIC_ALIASES.get(name, name)
    if name not in METRIC_DIRECTIONS:
        raise InputError(
            f"unknown metric '{m.group('metric')}' in requirement '{raw}'; choose from: "
            f"{_valid_metrics()}"
        )
    target = m.group("target")
    if target is not None and not target:
        raise InputError(f"empty target name in requirement '{raw}'")
    return Requirement(name, _OP_SPELLINGS[op_text], float(m.group("threshold")), target)


def parse_requirements(spec: str | Requirement | Iterable[str | Requirement]) -> list[Requirement]:
    """Parse ``"rmse<=0.7, r2>0.5"`` or a list of such strings into requirements.

    Every item of a list may itself hold several comma-separated requirements.
    """
    items: list[str | Requirement] = [spec] if isinstance(spec, (str, Requirement)) else list(spec)
    out: list[Requirement] = []
    for item in items:
        if isinstance(item, Requirement):
            out.append(item)
            continue
        if not isinstance(item, str):
            raise InputError(
                f"a requirement must be text like 'rmse<=0.7', got {type(item).__name__}"
            )
        pieces = _split_top_level(item)
        if any(not p for p in pieces) and item.strip():
            raise InputError(f"empty requirement in '{item.strip()}' (stray comma?)")
        out.extend(parse_requirement(p) for p in pieces if p)
    if not out:
        raise InputError("no requirement given; expected something like 'rmse<=0.7'")
    return out


def validate_requirements(
    requirements: Iterable[Requirement], task: str, target_names: Sequence[str]
) -> None:
    """Fail early (before training) when a requirement cannot apply to this data.

    Raises :class:`InputError` for a metric of the other task type (``roc_auc`` on regression)
    or a target that is not in the data.
    """
    allowed = TASK_METRICS.get(task)
    if allowed is None:
        raise InputError(f"unknown task '{task}'; choose from: {', '.join(TASK_METRICS)}")
    for req in requirements:
        if req.metric not in allowed:
            raise InputError(
                f"requirement '{req}' uses {req.metric}, which is not measured for {task}; "
                f"choose from: {', '.join(allowed)}"
            )
        if req.target is not None and req.target not in target_names:
            raise InputError(
                f"requirement '{req}' names target '{req.target}', which is not in the data; "
                f"targets: {', '.join(target_names)}"
            )


# --------------------------------------------------------------------------- checking


def _fmt_value(value: float, threshold: float) -> str:
    """Shortest rendering that does not make a failing value look equal to the threshold."""
    for digits in (4, 6, 8, 12, 17):
        text = f"{value:.{digits}g}"
        if float(text) != threshold or value == threshold:
            return text
    return repr(value)


@dataclass
class GateRow:
    """The outcome of one requirement."""

    requirement: Requirement
    measured: float
    passed: bool
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    def line(self, where: str) -> str:
        req = self.requirement
        status = "PASSED" if self.passed else "FAILED"
        if math.isnan(self.measured):
            return (
                f"{status}: {req.label} could not be measured on {where} ({self.reason}), "
                f"required {req.op} {_num(req.threshold)}"
            )
        return (
            f"{status}: {req.label} = {_fmt_value(self.measured, req.threshold)} on {where}, "
            f"required {req.op} {_num(req.threshold)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.requirement.to_dict(),
            "measured": self.measured if math.isfinite(self.measured) else None,
            "passed": self.passed,
            "reason": self.reason,
            "warnings": list(self.warnings),
        }


@dataclass
class GateResult:
    """All requirements checked: ``passed`` only when every row passed."""

    passed: bool
    rows: list[GateRow]
    split: str = "the held-out test set"

    @property
    def warnings(self) -> list[str]:
        return [w for row in self.rows for w in row.warnings]

    @property
    def failed(self) -> list[GateRow]:
        return [row for row in self.rows if not row.passed]

    def summary(self) -> str:
        """Plain language, one line per requirement (failures first), then any warnings."""
        lines: list[str] = []
        if len(self.rows) > 1:
            n_failed = len(self.failed)
            lines.append(
                f"FAILED: {n_failed} of {len(self.rows)} requirements not met on {self.split}"
                if n_failed
                else f"PASSED: all {len(self.rows)} requirements met on {self.split}"
            )
        ordered = self.failed + [row for row in self.rows if row.passed]
        lines.extend(("  " if len(self.rows) > 1 else "") + row.line(self.split) for row in ordered)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "split": self.split,
            "summary": self.summary(),
            "requirements": [row.to_dict() for row in self.rows],
            "warnings": self.warnings,
        }

    def raise_if_failed(self) -> None:
        """Raise :class:`GateFailedError` (exit status 3) with the failures on one line."""
        if not self.passed:
            raise GateFailedError("; ".join(row.line(self.split) for row in self.failed))


def _lookup(metrics: MetricsResult | Mapping[str, Any], req: Requirement) -> tuple[float, str]:
    """Measured value and, when it is missing, why."""
    if isinstance(metrics, MetricsResult):
        overall: Mapping[str, Any] = metrics.overall
        per_task: Mapping[str, Mapping[str, Any]] = metrics.per_task
        notes: list[str] = list(metrics.notes)
    elif "overall" in metrics:
        overall = metrics.get("overall") or {}
        per_task = metrics.get("per_task") or {}
        notes = [str(s) for s in metrics.get("notes") or []]
    else:  # a flat {metric: value} dict of overall values
        overall, per_task, notes = metrics, {}, []

    if req.target is None:
        source: Mapping[str, Any] = overall
    elif req.target in per_task:
        source = per_task[req.target]
    else:
        known = ", ".join(per_task) or "none"
        return math.nan, f"no target '{req.target}' in the results (targets: {known})"
    raw = source.get(req.metric)
    if raw is None:
        return math.nan, f"{req.metric} was not computed"
    value = float(raw)
    if math.isnan(value):
        related = [n for n in notes if req.target is None or n.startswith(f"{req.target}:")]
        related = [n for n in related if req.metric in n or "not defined" in n] or related
        why = "; ".join(related[:2]) if related else "no value"
        return value, f"value is NaN: {why}"
    return value, ""


def check_requirements(
    requirements: str | Requirement | Iterable[str | Requirement],
    metrics: MetricsResult | Mapping[str, Any],
    *,
    split: str = "the held-out test set",
) -> GateResult:
    """Check requirements against a :class:`MetricsResult` (or its ``to_dict()``, or a flat
    ``{metric: value}`` dict). ``split`` names the data in the summary."""
    reqs = parse_requirements(requirements)
    rows: list[GateRow] = []
    for req in reqs:
        value, reason = _lookup(metrics, req)
        passed = req.is_met(value)
        rows.append(GateRow(req, value, passed, reason, req.warnings))
    return GateResult(passed=all(row.passed for row in rows), rows=rows, split=split)
