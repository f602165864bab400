"""The plots of an evaluation report, as base64 PNG for the self-contained HTML page.

Regression: predicted vs measured, residuals and, with uncertainties, the coverage of the
predicted intervals; classification: ROC and precision-recall curves and a reliability diagram.
Figures are :class:`matplotlib.figure.Figure` objects rendered by the Agg backend without pyplot
(the user's backend and global state stay untouched), with fixed sizes and margins (a layout
engine would double the drawing time) and PNG metadata without a software stamp, so the same
data give the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from drugforge.core.evaluation.calibration import CURVE_LEVELS, coverage_curve
from drugforge.core.evaluation.report_tables import format_value

__all__ = ["classification_figures", "regression_figures"]

_NCOLS = 4
_PANEL_IN = (3.1, 2.9)  # inches per panel
_DPI = 90
_MAX_POINTS = 5000  # scatter points per panel; more are subsampled (fixed seed) for speed


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
    parts = [f"{k} {format_value(row[k])}" for k in keys if row.get(k) is not None]
    return _short(name) + ("\n" + ", ".join(parts) if parts else "")


def regression_figures(
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


def classification_figures(
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
