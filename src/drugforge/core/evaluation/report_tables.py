"""The tables of an evaluation report, each as Markdown and as HTML, and its JSON cleaning.

:func:`clean_json` turns numpy values, paths and result objects into strict JSON (NaN -> null);
:func:`format_value` is how every number reads in a table (4 significant digits, ``n/a``).
The table builders serve :func:`~drugforge.core.evaluation.report.write_report`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drugforge.core.evaluation.metrics import METRIC_DIRECTIONS

__all__ = ["Table", "clean_json", "format_value", "gate_table", "overall_table",
           "per_task_table", "section_blocks"]  # fmt: skip


def clean_json(obj: Any) -> Any:
    """Plain JSON types; NaN/inf become None so the file is strict JSON."""
    if isinstance(obj, Mapping):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [clean_json(v) for v in obj.tolist()]
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
        return clean_json(obj.to_dict())
    return str(obj)


def format_value(value: Any) -> str:
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


@dataclass
class Table:
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


def overall_table(overall: Mapping[str, Any]) -> Table:
    rows = [[k, format_value(v), METRIC_DIRECTIONS.get(k, "")] for k, v in overall.items()]
    return Table(["metric", "value", "better"], rows)


def per_task_table(per_task: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> Table:
    present = [k for k in keys if any(k in row for row in per_task.values())]
    rows = [[name, *(format_value(row.get(k)) for k in present)] for name, row in per_task.items()]
    return Table(["target", *present], rows)


def gate_table(gate: Mapping[str, Any]) -> Table:
    rows = []
    for req in gate.get("requirements", []):
        note = "; ".join([req.get("reason") or "", *req.get("warnings", [])]).strip("; ")
        rows.append(
            [
                str(req.get("text", "")),
                format_value(req.get("measured")),
                "pass" if req.get("passed") else "FAIL",
                note,
            ]
        )
    return Table(["requirement", "measured", "result", "note"], rows)


def section_blocks(content: Any) -> tuple[str, str]:
    """One extra section as (markdown, html): text, a key/value table, a table, a list or JSON."""
    if isinstance(content, str):
        paras = [p.strip() for p in content.strip().split("\n\n") if p.strip()]
        return ("\n\n".join(paras), "".join(f"<p>{html.escape(p)}</p>" for p in paras))
    if isinstance(content, Mapping):
        table = Table(
            ["item", "value"],
            [
                [
                    str(k),
                    format_value(clean_json(v))
                    if not isinstance(v, (Mapping, list, tuple))
                    else json.dumps(clean_json(v)),
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
        table = Table(header, [[format_value(clean_json(r.get(h))) for h in header] for r in content])
        return table.markdown(), table.html()
    if isinstance(content, (list, tuple)) and all(isinstance(r, str) for r in content):
        return (
            "\n".join(f"- {r}" for r in content),
            "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in content) + "</ul>",
        )
    text = json.dumps(clean_json(content), indent=2)
    return f"```\n{text}\n```", f"<pre>{html.escape(text)}</pre>"
