"""Evaluation reports: JSON, markdown and self-contained HTML with embedded plots."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from drugforge.core.errors import InputError
from drugforge.core.evaluation.calibration import calibration_report
from drugforge.core.evaluation.gate import check_requirements
from drugforge.core.evaluation.metrics import MetricsResult, compute_metrics
from drugforge.core.evaluation.report import MAX_PLOT_TASKS, write_report

_IMG = re.compile(r'<figure id="fig-(\w+)"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"')


def _images(html: str) -> dict[str, bytes]:
    return {m.group(1): base64.b64decode(m.group(2), validate=True) for m in _IMG.finditer(html)}


def _strict_json(path: Path) -> dict:
    def reject(name: str) -> None:
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def _regression_data(n: int = 300, t: int = 2, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, t))
    std = rng.uniform(0.3, 0.8, size=(n, t))
    pred = y + std * rng.normal(size=(n, t))
    y[rng.random((n, t)) < 0.1] = np.nan
    return y, pred, std


def test_regression_report(tmp_path: Path) -> None:
    y, pred, std = _regression_data()
    names = ["logS", "logP"]
    metrics = compute_metrics("regression", y, pred, names, y_std=std)
    cal = calibration_report(y, pred, std, target_names=names)
    gate = check_requirements("rmse<=0.4, r2>0.5", metrics)
    paths = write_report(
        tmp_path / "rep",
        title="Solubility model",
        task="regression",
        target_names=names,
        y_true=y,
        y_pred=pred,
        y_std=std,
        metrics=metrics,
        calibration=cal,
        gate=gate,
    )
    assert set(paths) == {"json", "markdown", "html"}
    for key, name in (("json", "report.json"), ("markdown", "report.md"), ("html", "report.html")):
        assert paths[key] == tmp_path / "rep" / name and paths[key].is_file()

    data = _strict_json(paths["json"])
    assert data["title"] == "Solubility model" and data["task"] == "regression"
    assert data["target_names"] == names and data["n"] == 300
    assert MetricsResult.from_dict(data["metrics"]).to_dict() == metrics.to_dict()
    assert data["calibration"]["per_task"]["logS"]["coverage_95"] == pytest.approx(
        cal["per_task"]["logS"]["coverage_95"]
    )
    assert data["gate"]["passed"] is False and data["gate"]["summary"] == gate.summary()
    assert data["figures"] == ["parity", "residuals", "calibration"]

    html = paths["html"].read_text(encoding="utf-8")
    images = _images(html)
    assert list(images) == ["parity", "residuals", "calibration"]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000 for png in images.values())
    for value in (metrics.overall["rmse"], metrics.overall["r2"], metrics.per_task["logP"]["mae"]):
        assert f"{value:.4g}" in html
    assert "FAILED: rmse = " in html and "required &lt;= 0.4" in html
    assert "coverage_95" in html
    # self-contained: nothing is fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert "<script" not in html

    md = paths["markdown"].read_text(encoding="utf-8")
    assert md.startswith("# Solubility model\n")
    assert f"| rmse | {metrics.overall['rmse']:.4g} | lower |" in md
    assert "| target | n | rmse |" in md
    assert "| logS |" in md and "## Calibration" in md and "## Requirements" in md


def test_classification_report_with_single_class_task(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((200, 3)) < 0.3).astype(float)
    y[:, 2] = 0.0  # one class only: curves undefined, must not crash
    p = np.clip(0.4 * y + 0.6 * rng.random((200, 3)), 0, 1)
    names = ["NR-AR", "NR-AhR", "SR-MMP"]
    metrics = compute_metrics("classification", y, p, names)
    paths = write_report(
        tmp_path,
        title="Tox21 <test> & co",
        task="classification",
        target_names=names,
        y_true=y,
        y_pred=p,
        metrics=metrics.to_dict(),
        calibration=None,
        gate=check_requirements("roc_auc>=0.7", metrics).to_dict(),
        extra_sections=None,
    )
    data = _strict_json(paths["json"])
    assert data["figures"] == ["roc", "pr", "reliability"]
    assert data["calibration"]["kind"] == "classification"  # computed when not given
    assert data["metrics"]["per_task"]["SR-MMP"]["roc_auc"] is None
    html = paths["html"].read_text(encoding="utf-8")
    assert set(_images(html)) == {"roc", "pr", "reliability"}
    assert "<title>Tox21 &lt;test&gt; &amp; co</title>" in html  # escaped
    assert f"{metrics.overall['roc_auc']:.4g}" in html
    assert "SR-MMP: only class 0 among 200" in html  # the note explains the gap
    assert "n/a" in paths["markdown"].read_text(encoding="utf-8")


def test_many_tasks_plots_capped_tables_complete(tmp_path: Path) -> None:
    t = MAX_PLOT_TASKS + 3
    y, pred, _ = _regression_data(n=60, t=t, seed=2)
    names = [f"task_{i}" for i in range(t)]
    metrics = compute_metrics("regression", y, pred, names)
    paths = write_report(
        tmp_path,
        title="many",
        task="regression",
        target_names=names,
        y_true=y,
        y_pred=pred,
        metrics=metrics,
        calibration=None,
        gate=None,
        extra_sections=None,
    )
    data = _strict_json(paths["json"])
    assert data["figures"] == ["parity", "residuals"]  # no std: no calibration plot
    assert data["calibration"] is None and data["gate"] is None
    assert f"plots show the first {MAX_PLOT_TASKS} of {t} targets" in " ".join(data["notes"])
    md = paths["markdown"].read_text(encoding="utf-8")
    assert f"| task_{t - 1} |" in md


def test_extra_sections_render(tmp_path: Path) -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.1, 2.2, 2.7, 4.4])
    metrics = compute_metrics("regression", y, pred, ["y"])
    paths = write_report(
        tmp_path,
        title="extras",
        task="regression",
        target_names=["y"],
        y_true=y,
        y_pred=pred,
        metrics=metrics,
        calibration=None,
        gate=None,
        extra_sections={
            "Data": "Read 4 molecules.\n\nNo duplicates.",
            "Split": {"method": "scaffold", "seed": 0, "sizes": [0.8, 0.1, 0.1]},
            "Model selection": [{"model": "svm", "rmse": 0.51}, {"model": "gp", "rmse": 0.4567}],
            "Warnings": ["row 3: salt stripped"],
        },
    )
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "## Data\n\nRead 4 molecules.\n\nNo duplicates." in md
    assert "| method | scaffold |" in md and "| sizes | [0.8, 0.1, 0.1] |" in md
    assert "| model | rmse |" in md and "| gp | 0.4567 |" in md
    assert "- row 3: salt stripped" in md
    html = paths["html"].read_text(encoding="utf-8")
    assert "<h2>Model selection</h2>" in html and "<td>0.4567</td>" in html
    data = _strict_json(paths["json"])
    assert data["extra_sections"]["Split"]["seed"] == 0


def test_report_is_deterministic(tmp_path: Path) -> None:
    y, pred, std = _regression_data(n=120, t=1, seed=3)
    metrics = compute_metrics("regression", y, pred, ["y"], y_std=std)

    def write(out: Path) -> dict[str, Path]:
        return write_report(
            out,
            title="det",
            task="regression",
            target_names=["y"],
            y_true=y,
            y_pred=pred,
            y_std=std,
            metrics=metrics,
        )

    first, second = write(tmp_path / "a"), write(tmp_path / "b")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes()


@pytest.mark.parametrize(
    ("task", "names", "y_pred", "message"),
    [
        ("regression", ["y"], [1.0], "y_pred has shape"),
        ("regression", ["a", "b"], [1.0, 2.0], "2 target name"),
        ("ranking", ["y"], [1.0, 2.0], "unknown task 'ranking'"),
    ],
)
def test_report_input_errors(
    tmp_path: Path, task: str, names: list[str], y_pred: list[float], message: str
) -> None:
    metrics = compute_metrics("regression", [1.0, 2.0], [1.0, 2.0], ["y"])
    with pytest.raises(InputError, match=message):
        write_report(
            tmp_path,
            title="x",
            task=task,
            target_names=names,
            y_true=[1.0, 2.0],
            y_pred=y_pred,
            metrics=metrics,
        )
    assert not (tmp_path / "report.json").exists()  # nothing half-written
