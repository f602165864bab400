"""Evaluation reports: ``report.json`` (every number), ``report.md`` (tables) and
``report.html`` (self-contained: tables plus plots embedded as base64 PNG).

Plots are drawn on :class:`matplotlib.figure.Figure` objects rendered by the Agg backend without
pyplot, so writing a report never changes the user's matplotlib backend or global state. The
output is deterministic: no timestamps, fixed sizes, PNG metadata without a software stamp.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from drugforge import __version__
from drugforge.core.errors import InputError
from drugforge.core.evaluation.calibration import CURVE_LEVELS, coverage_curve, task_calibration_report
from drugforge.core.evaluation.gate import GateResult
from drugforge.core.evaluation.metrics import METRIC_DIRECTIONS, TASK_METRICS, MetricsResult

#: at most this many tasks get their own plot panel (the tables always list every task)
MAX_PLOT_TASKS = 12
_NCOLS = 4
_PANEL_IN = (3.1, 2.9)  # inches per panel
_DPI = 90
_MAX_POINTS = 5000  # scatter points per panel; more are subsampled (fixed seed) for speed
_COUNT_KEYS = ("n", "n_positive", "n_cliff")
_CAL_REG_KEYS = (
    "coverage_68",
    "coverage_95",
    "miscalibration_area",
    "spearman_err_std",
    "nll",
    "z_rms",
)
_CAL_CLS_KEYS = ("ece", "brier")
_IDEAL = {
    "coverage_68": "0.683",
    "coverage_95": "0.95",
    "miscalibration_area": "0",
    "spearman_err_std": "> 0",
    "z_rms": "1",
    "ece": "0",
}


# --------------------------------------------------------------------------- JSON helpers


def _clean(obj: Any) -> Any:
    """Plain JSON types; NaN/inf become None so the file is strict JSON."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_clean(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "to_dict"):
        return _clean(obj.to_dict())
    return str(obj)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "n/a"
        return f"{v:.4g}"
    return str(value)


# --------------------------------------------------------------------------- tables


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = [
            "| " + " | ".join(cell(h) for h in self.header) + " |",
            "|" + "|".join("---" for _ in self.header) + "|",
        ]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _overall_table(overall: Mapping[str, Any]) -> _Table:
    rows = [[k, _fmt(v), METRIC_DIRECTIONS.get(k, "")] for k, v in overall.items()]
    return _Table(["metric", "value", "better"], rows)


def _per_task_table(per_task: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> _Table:
    present = [k for k in keys if any(k in row for row in per_task.values())]
    rows = [[name, *(_fmt(row.get(k)) for k in present)] for name, row in per_task.items()]
    return _Table(["target", *present], rows)


def _gate_table(gate: Mapping[str, Any]) -> _Table:
    rows = []
    for req in gate.get("requirements", []):
        note = "; ".join([req.get("reason") or "", *req.get("warnings", [])]).strip("; ")
        rows.append(
            [
                str(req.get("text", "")),
                _fmt(req.get("measured")),
                "pass" if req.get("passed") else "FAIL",
                note,
            ]
        )
    return _Table(["requirement", "measured", "result", "note"], rows)


def _section_blocks(content: Any) -> tuple[str, str]:
    """One extra section as (markdown, html): text, a key/value table, a table, a list or JSON."""
    if isinstance(content, str):
        paras = [p.strip() for p in content.strip().split("\n\n") if p.strip()]
        return ("\n\n".join(paras), "".join(f"<p>{html.escape(p)}</p>" for p in paras))
    if isinstance(content, Mapping):
        table = _Table(
            ["item", "value"],
            [
                [
                    str(k),
                    _fmt(_clean(v))
                    if not isinstance(v, (Mapping, list, tuple))
                    else json.dumps(_clean(v)),
                ]
                for k, v in content.items()
            ],
        )
        return table.markdown(), table.html()
    if (
        isinstance(content, (list, tuple))
        and content
        and all(isinstance(r, Mapping) for r in content)
    ):
        header: list[str] = []
        for r in content:
            header += [str(k) for k in r if str(k) not in header]
        table = _Table(header, [[_fmt(_clean(r.get(h))) for h in header] for r in content])
        return table.markdown(), table.html()
    if isinstance(content, (list, tuple)) and all(isinstance(r, str) for r in content):
        return (
            "\n".join(f"- {r}" for r in content),
            "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in content) + "</ul>",
        )
    text = json.dumps(_clean(content), indent=2)
    return f"```\n{text}\n```", f"<pre>{html.escape(text)}</pre>"


# --------------------------------------------------------------------------- plots


def _grid(k: int, title: str) -> tuple[Figure, list[Axes]]:
    """``k`` panels, at most ``_NCOLS`` a row, with fixed margins in inches (a layout engine
    would double the drawing time)."""
    ncols = min(_NCOLS, k)
    nrows = math.ceil(k / ncols)
    pw, ph = _PANEL_IN
    left, right, gap_w = 0.6, 0.15, 0.75
    bottom, top, gap_h = 0.45, 0.85, 0.95  # top: suptitle + a two-line panel title
    width, height = ncols * pw, nrows * ph
    aw = (width - left - right - gap_w * (ncols - 1)) / ncols  # axes size, inches
    ah = (height - bottom - top - gap_h * (nrows - 1)) / nrows
    fig = Figure(figsize=(width, height), dpi=_DPI)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=gap_w / aw,
        hspace=gap_h / ah,
    )
    fig.suptitle(title, y=1 - 0.12 / height, va="top", fontsize=11)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig, axes[:k]


def _single(width: float, height: float, n_axes: int) -> tuple[Figure, list[Axes]]:
    """One row of ``n_axes`` panels with fixed margins (inches)."""
    fig = Figure(figsize=(width, height), dpi=_DPI)
    aw = (width - 0.75 - 0.7 * (n_axes - 1)) / n_axes
    fig.subplots_adjust(
        left=0.6 / width,
        right=1 - 0.15 / width,
        bottom=0.5 / height,
        top=1 - 0.35 / height,
        wspace=0.7 / aw,
    )
    axes = fig.subplots(1, n_axes, squeeze=False).ravel().tolist()
    return fig, axes


def _color(j: int) -> Any:
    # tab10 repeats after 10 lines; 12 tasks can share one axes
    return colormaps["tab20"](j % 20) if j >= 10 else colormaps["tab10"](j)


def _unit_ticks(ax: Axes) -> None:
    # fixed ticks: cheaper to draw than auto-located ones and all these axes span [0, 1]
    ax.set_xticks([0.0, 0.25, 0.5, 0.75, 1.0])
    ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])


def _png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _subsample(idx: np.ndarray) -> np.ndarray:
    if idx.size <= _MAX_POINTS:
        return idx
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(idx, _MAX_POINTS, replace=False))


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _stat_title(name: str, row: Mapping[str, Any], keys: Sequence[str]) -> str:
    parts = [f"{k} {_fmt(row[k])}" for k in keys if row.get(k) is not None]
    return _short(name) + ("\n" + ", ".join(parts) if parts else "")


def _regression_figures(
    names: list[str],
    yt: np.ndarray,
    yp: np.ndarray,
    ys: np.ndarray | None,
    per_task: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, str, str]]:
    k = len(names)
    figs: list[tuple[str, str, str]] = []

    fig, axes = _grid(k, "Predicted vs measured")
    for j, ax in enumerate(axes):
        ok = _subsample(np.flatnonzero(np.isfinite(yt[:, j]) & np.isfinite(yp[:, j])))
        x, y = yt[ok, j], yp[ok, j]
        ax.set_title(_stat_title(names[j], per_task.get(names[j], {}), ("rmse", "r2")), fontsize=9)
        if ok.size:
            lo = float(min(x.min(), y.min()))
            hi = float(max(x.max(), y.max()))
            pad = 0.05 * (hi - lo or 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", lw=1, ls="--")
            ax.scatter(x, y, s=7, alpha=0.6, linewidths=0, color="tab:blue")
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel("measured", fontsize=8)
        ax.set_ylabel("predicted", fontsize=8)
        ax.locator_params(nbins=4)
        ax.tick_params(labelsize=7)
    figs.append(
        ("parity", "Parity plot: predicted against measured (dashed: y = x)", _png_base64(fig))
    )

    fig, axes = _grid(k, "Residuals")
    for j, ax in enumerate(axes):
        ok = _subsample(np.flatnonzero(np.isfinite(yt[:, j]) & np.isfinite(yp[:, j])))
        ax.set_title(_stat_title(names[j], per_task.get(names[j], {}), ("mae",)), fontsize=9)
        ax.axhline(0.0, color="0.5", lw=1, ls="--")
        if ok.size:
            ax.scatter(
                yp[ok, j],
                yt[ok, j] - yp[ok, j],
                s=7,
                alpha=0.6,
                linewidths=0,
                color="tab:orange",
            )
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("measured - predicted", fontsize=8)
        ax.locator_params(nbins=4)
        ax.tick_params(labelsize=7)
    figs.append(("residuals", "Residuals against prediction", _png_base64(fig)))

    if ys is not None:
        fig, (ax_cov, ax_err) = _single(2 * _PANEL_IN[0] + 0.4, _PANEL_IN[1], 2)
        _unit_ticks(ax_cov)
        ax_cov.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--")
        for j in range(k):
            ok = np.isfinite(yt[:, j]) & np.isfinite(yp[:, j]) & np.isfinite(ys[:, j])
            if ok.any():
                observed = coverage_curve(yt[ok, j], yp[ok, j], ys[ok, j])
                ax_cov.plot(
                    CURVE_LEVELS, observed, lw=1.4, color=_color(j), label=_short(names[j], 18)
                )
                sel = _subsample(np.flatnonzero(ok))
                ax_err.scatter(
                    ys[sel, j],
                    np.abs(yt[sel, j] - yp[sel, j]),
                    s=7,
                    alpha=0.5,
                    color=_color(j),
                    linewidths=0,
                )
        ax_cov.set_xlabel("expected coverage", fontsize=8)
        ax_cov.set_ylabel("observed coverage", fontsize=8)
        ax_cov.set_title("Interval coverage", fontsize=9)
        if k > 1:
            ax_cov.legend(fontsize=6, loc="upper left")
        ax_err.set_xlabel("predicted std", fontsize=8)
        ax_err.set_ylabel("|measured - predicted|", fontsize=8)
        ax_err.set_title("Error against predicted std", fontsize=9)
        for ax in (ax_cov, ax_err):
            ax.tick_params(labelsize=7)
        figs.append(
            (
                "calibration",
                (
                    "Uncertainty calibration: observed against expected coverage "
                    "of Gaussian intervals (dashed: ideal), and |error| against predicted std"
                ),
                _png_base64(fig),
            )
        )
    return figs


def _classification_figures(
    names: list[str],
    yt: np.ndarray,
    pp: np.ndarray,
    per_task: Mapping[str, Mapping[str, Any]],
    calibration: Mapping[str, Any] | None,
) -> list[tuple[str, str, str]]:
    k = len(names)
    figs: list[tuple[str, str, str]] = []
    fig_roc, axes_roc = _grid(k, "ROC curves")
    fig_pr, axes_pr = _grid(k, "Precision-recall curves")
    for j in range(k):
        ok = np.isfinite(yt[:, j]) & np.isfinite(pp[:, j])
        y, p = yt[ok, j], pp[ok, j]
        row = per_task.get(names[j], {})
        ax_roc, ax_pr = axes_roc[j], axes_pr[j]
        ax_roc.set_title(_stat_title(names[j], row, ("roc_auc",)), fontsize=9)
        ax_pr.set_title(_stat_title(names[j], row, ("pr_auc",)), fontsize=9)
        ax_roc.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--")
        if y.size and 0 < y.sum() < y.size:
            fpr, tpr, _ = roc_curve(y, p)
            ax_roc.plot(fpr, tpr, lw=1.5, color="tab:blue")
            precision, recall, _ = precision_recall_curve(y, p)
            ax_pr.step(recall, precision, where="post", lw=1.5, color="tab:green")
            ax_pr.axhline(float(y.mean()), color="0.5", lw=1, ls="--")
        else:
            for ax in (ax_roc, ax_pr):
                ax.text(
                    0.5,
                    0.5,
                    "one class only:\nnot defined",
                    ha="center",
                    va="center",
                    fontsize=8,
                    transform=ax.transAxes,
                )
        for ax, (xl, yl) in (
            (ax_roc, ("false positive rate", "true positive rate")),
            (ax_pr, ("recall", "precision")),
        ):
            _unit_ticks(ax)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(xl, fontsize=8)
            ax.set_ylabel(yl, fontsize=8)
            ax.tick_params(labelsize=7)
    figs.append(("roc", "ROC curves (dashed: random)", _png_base64(fig_roc)))
    figs.append(
        ("pr", "Precision-recall curves (dashed: fraction of positives)", _png_base64(fig_pr))
    )

    cal_tasks = (calibration or {}).get("per_task", {})
    fig, (ax,) = _single(_PANEL_IN[0] + 1.0, _PANEL_IN[1] + 0.3, 1)
    _unit_ticks(ax)
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--")
    for j, name in enumerate(names):
        curve = cal_tasks.get(name, {}).get("curve") if isinstance(cal_tasks, Mapping) else None
        if curve and curve.get("mean_predicted"):
            ax.plot(
                curve["mean_predicted"],
                curve["fraction_positive"],
                marker="o",
                ms=3,
                lw=1.2,
                color=_color(j),
                label=_short(name, 18),
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability", fontsize=8)
    ax.set_ylabel("fraction positive", fontsize=8)
    ax.set_title("Reliability", fontsize=9)
    ax.tick_params(labelsize=7)
    if k > 1:
        ax.legend(fontsize=6, loc="upper left")
    figs.append(
        (
            "reliability",
            "Reliability diagram, 10 probability bins (dashed: ideal)",
            _png_base64(fig),
        )
    )
    return figs


# --------------------------------------------------------------------------- main


def _as_2d(a: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise InputError(f"{name} has shape {arr.shape} but y_true has shape {shape}")
    return arr


def _metrics_dict(metrics: MetricsResult | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(metrics, MetricsResult):
        return dict(_clean(metrics.to_dict()))
    if "overall" in metrics:
        return dict(_clean(metrics))
    return {"overall": _clean(metrics), "per_task": {}, "notes": []}


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1300px;
margin:1.5em auto;padding:0 1em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;
border-bottom:1px solid #ddd}.meta{color:#555}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td{font-variant-numeric:tabular-nums}
.gate{padding:.6em 1em;border-radius:4px;white-space:pre-wrap;font-family:monospace}
.pass{background:#e6f4ea;border:1px solid #7bc47f}.fail{background:#fdecea;border:1px solid #e57373}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
"""


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    title: str,
    task: str,
    target_names: Sequence[str],
    y_true: Any,
    y_pred: Any,
    y_std: Any = None,
    metrics: MetricsResult | Mapping[str, Any],
    calibration: Mapping[str, Any] | None = None,
    gate: GateResult | Mapping[str, Any] | None = None,
    extra_sections: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    metrics
        A :class:`MetricsResult` or its ``to_dict()`` (a flat ``{metric: value}`` also works).
    calibration
        :func:`calibration_report` / :func:`classification_calibration_report` output; when
        None it is computed here if possible (regression with ``y_std``; classification).
    gate
        A :class:`GateResult` or its ``to_dict()``.
    extra_sections
        Title -> content: text, a ``{key: value}`` dict (table), a list of dicts (table), a list
        of strings (bullets), anything else as JSON.

    Returns
    -------
    dict
        ``{"json": path, "markdown": path, "html": path}``.
    """
    if task not in TASK_METRICS:
        raise InputError(f"unknown task '{task}'; choose from: {', '.join(TASK_METRICS)}")
    yt = _as_2d(y_true, "y_true")
    yp = _as_2d(y_pred, "y_pred", yt.shape)
    ys = None if y_std is None else _as_2d(y_std, "y_std", yt.shape)
    names = [str(n) for n in target_names]
    if len(names) != yt.shape[1]:
        raise InputError(f"{len(names)} target name(s) given for {yt.shape[1]} task column(s)")

    metrics_d = _metrics_dict(metrics)
    notes: list[str] = [str(n) for n in metrics_d.get("notes", [])]
    cal: dict[str, Any] | None = None if calibration is None else dict(_clean(calibration))
    if cal is None:
        cal = _clean(task_calibration_report(task, yt, yp, ys, target_names=names))
    if cal is not None:
        notes += [str(n) for n in cal.get("notes", [])]
    gate_d: dict[str, Any] | None
    if gate is None:
        gate_d = None
    elif isinstance(gate, GateResult):
        gate_d = dict(_clean(gate.to_dict()))
    else:
        gate_d = dict(_clean(gate))
    extra_d = {str(k): _clean(v) for k, v in (extra_sections or {}).items()}

    plot_names = names[:MAX_PLOT_TASKS]
    k = len(plot_names)
    if len(names) > MAX_PLOT_TASKS:
        notes.append(
            f"plots show the first {MAX_PLOT_TASKS} of {len(names)} targets; "
            "the tables list all of them"
        )
    per_task = metrics_d.get("per_task", {})
    if yt.shape[0] == 0:
        figures: list[tuple[str, str, str]] = []
        notes.append("no rows to plot")
    elif task == "regression":
        figures = _regression_figures(
            plot_names, yt[:, :k], yp[:, :k], None if ys is None else ys[:, :k], per_task
        )
    else:
        figures = _classification_figures(plot_names, yt[:, :k], yp[:, :k], per_task, cal)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "title": title,
        "task": task,
        "target_names": names,
        "n": int(yt.shape[0]),
        "n_labelled": [int(np.isfinite(yt[:, j]).sum()) for j in range(yt.shape[1])],
        "drugforge_version": __version__,
        "metrics": metrics_d,
        "calibration": cal,
        "gate": gate_d,
        "extra_sections": extra_d,
        "figures": [name for name, _, _ in figures],
        "notes": notes,
    }
    paths = {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "html": out / "report.html",
    }
    paths["json"].write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")

    # ---- the tables, shared by markdown and HTML
    blocks: list[tuple[str, str, str]] = []  # (kind, markdown, html) in reading order
    subtitle = (
        f"{task}, {yt.shape[0]} molecules, {len(names)} target(s): "
        f"{', '.join(names[:20])}{' ...' if len(names) > 20 else ''}"
    )
    if gate_d is not None:
        verdict = "pass" if gate_d.get("passed") else "fail"
        summary = str(gate_d.get("summary", ""))
        blocks.append(("h2", "Requirements", "Requirements"))
        blocks.append(
            (
                "raw",
                "```\n" + summary + "\n```",
                f'<div class="gate {verdict}">{html.escape(summary)}</div>',
            )
        )
        table = _gate_table(gate_d)
        blocks.append(("raw", table.markdown(), table.html()))
    blocks.append(("h2", "Metrics", "Metrics"))
    table = _overall_table(metrics_d.get("overall", {}))
    blocks.append(("raw", table.markdown(), table.html()))
    if per_task:
        blocks.append(("h3", "Per target", "Per target"))
        keys = [*_COUNT_KEYS, *TASK_METRICS[task]]
        table = _per_task_table(per_task, keys)
        blocks.append(("raw", table.markdown(), table.html()))
    if cal is not None:
        cal_keys = _CAL_REG_KEYS if cal.get("kind", task) == "regression" else _CAL_CLS_KEYS
        blocks.append(("h2", "Calibration", "Calibration"))
        ideal = ", ".join(f"{k} {_IDEAL[k]}" for k in cal_keys if k in _IDEAL)
        blocks.append(("p", f"Ideal values: {ideal}.", f"Ideal values: {ideal}."))
        table = _per_task_table(cal.get("per_task", {}), ("n", *cal_keys))
        blocks.append(("raw", table.markdown(), table.html()))
    for name, content in extra_d.items():
        md, ht = _section_blocks(content)
        blocks.append(("h2", name, name))
        blocks.append(("raw", md, ht))
    if notes:
        blocks.append(("h2", "Notes", "Notes"))
        blocks.append(
            (
                "raw",
                "\n".join(f"- {n}" for n in notes),
                "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
            )
        )

    md_lines = [f"# {title}", "", subtitle, ""]
    html_parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="meta">{html.escape(subtitle)}</p>']
    for kind, md, ht in blocks:
        if kind in ("h2", "h3"):
            md_lines += [("## " if kind == "h2" else "### ") + md, ""]
            html_parts.append(f"<{kind}>{html.escape(ht)}</{kind}>")
        elif kind == "p":
            md_lines += [md, ""]
            html_parts.append(f"<p>{html.escape(ht)}</p>")
        else:
            md_lines += [md, ""]
            html_parts.append(ht)
    if figures:
        md_lines += [
            "## Plots",
            "",
            "See report.html for the plots: " + ", ".join(name for name, _, _ in figures) + ".",
            "",
        ]
        html_parts.append("<h2>Plots</h2>")
        for name, caption, b64 in figures:
            html_parts.append(
                f'<figure id="fig-{name}"><img alt="{html.escape(caption)}" '
                f'src="data:image/png;base64,{b64}"><figcaption>{html.escape(caption)}'
                f"</figcaption></figure>"
            )
    md_lines.append(f"_drugforge {__version__}_")
    html_parts.append(f'<p class="meta">drugforge {html.escape(__version__)}</p>')
    paths["markdown"].write_text("\n".join(md_lines) + "\n", encoding="utf-8")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(html_parts)
        + "\n</body></html>\n"
    )
    paths["html"].write_text(page, encoding="utf-8")
    return paths
