"""Evaluation reports: ``report.json`` (every number), ``report.md`` (tables) and
``report.html`` (self-contained: tables plus plots embedded as base64 PNG).

Plots are drawn on :class:`matplotlib.figure.Figure` objects rendered by the Agg backend without
pyplot, so writing a report never changes the user's matplotlib backend or global state. The
output is deterministic: no timestamps, fixed sizes, PNG metadata without a software stamp.
This module assembles and writes the three files; the plots are drawn in
:mod:`~drugforge.core.evaluation.report_plots`, the tables built in
:mod:`~drugforge.core.evaluation.report_tables`.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drugforge import __version__
from drugforge.core.errors import InputError
from drugforge.core.evaluation.calibration import task_calibration_report
from drugforge.core.evaluation.gate import GateResult
from drugforge.core.evaluation.metrics import TASK_METRICS, MetricsResult
from drugforge.core.evaluation.report_plots import classification_figures, regression_figures
from drugforge.core.evaluation.report_tables import (
    clean_json,
    gate_table,
    overall_table,
    per_task_table,
    section_blocks,
)

#: at most this many tasks get their own plot panel (the tables always list every task)
MAX_PLOT_TASKS = 12
_COUNT_KEYS = ("n", "n_positive", "n_cliff")
_CAL_REG_KEYS = (
    "coverage_68",
    "coverage_95",
    "miscalibration_area",
    "spearman_err_std",
    "nll",
    "z_rms",
)
_CAL_CLS_KEYS = ("ece", "brier", "brier_uncalibrated")
_IDEAL = {
    "coverage_68": "0.683",
    "coverage_95": "0.95",
    "miscalibration_area": "0",
    "spearman_err_std": "> 0",
    "z_rms": "1",
    "ece": "0",
}


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
        return dict(clean_json(metrics.to_dict()))
    if "overall" in metrics:
        return dict(clean_json(metrics))
    return {"overall": clean_json(metrics), "per_task": {}, "notes": []}


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
    cal: dict[str, Any] | None = None if calibration is None else dict(clean_json(calibration))
    if cal is None:
        cal = clean_json(task_calibration_report(task, yt, yp, ys, target_names=names))
    if cal is not None:
        notes += [str(n) for n in cal.get("notes", [])]
    gate_d: dict[str, Any] | None
    if gate is None:
        gate_d = None
    elif isinstance(gate, GateResult):
        gate_d = dict(clean_json(gate.to_dict()))
    else:
        gate_d = dict(clean_json(gate))
    extra_d = {str(k): clean_json(v) for k, v in (extra_sections or {}).items()}

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
        figures = regression_figures(
            plot_names, yt[:, :k], yp[:, :k], None if ys is None else ys[:, :k], per_task
        )
    else:
        figures = classification_figures(plot_names, yt[:, :k], yp[:, :k], per_task, cal)

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
        table = gate_table(gate_d)
        blocks.append(("raw", table.markdown(), table.html()))
    blocks.append(("h2", "Metrics", "Metrics"))
    table = overall_table(metrics_d.get("overall", {}))
    blocks.append(("raw", table.markdown(), table.html()))
    if per_task:
        blocks.append(("h3", "Per target", "Per target"))
        keys = [*_COUNT_KEYS, *TASK_METRICS[task]]
        table = per_task_table(per_task, keys)
        blocks.append(("raw", table.markdown(), table.html()))
    if cal is not None:
        cal_keys = _CAL_REG_KEYS if cal.get("kind", task) == "regression" else _CAL_CLS_KEYS
        blocks.append(("h2", "Calibration", "Calibration"))
        ideal = ", ".join(f"{k} {_IDEAL[k]}" for k in cal_keys if k in _IDEAL)
        blocks.append(("p", f"Ideal values: {ideal}.", f"Ideal values: {ideal}."))
        table = per_task_table(cal.get("per_task", {}), ("n", *cal_keys))
        blocks.append(("raw", table.markdown(), table.html()))
    for name, content in extra_d.items():
        md, ht = section_blocks(content)
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
