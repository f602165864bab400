"""The report of ``drugforge image evaluate --out DIR``: metrics.json, report.md, roc.png."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from drugforge.core.artifacts import write_json
from drugforge.core.errors import InputError

__all__ = ["write_image_report"]


def write_image_report(out: Path, result: dict[str, Any], labels: np.ndarray, probs: np.ndarray,
                       classes: list[str], *, force: bool = False) -> Path:  # fmt: skip
    """Write the report folder ``out`` (replaced only with ``force``)."""
    if out.exists():
        if not force:
            raise InputError("report folder exists; use --force to overwrite", path=out)
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_json(out / "metrics.json", result)
    _roc_png(out / "roc.png", labels, probs, classes)
    cm = result["confusion"]["rows_true_cols_pred"]
    lines = [f"# Image model evaluation: {result['model']}", "",
             f"Data: {result['data']}, {result['n_images']} images.", "",
             "| metric | value |", "|---|---|"]  # fmt: skip
    for key in ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "mcc", "brier",
                "log_loss"):  # fmt: skip
        if key in result:
            lines.append(f"| {key} | {result[key]:.4f} |")
    lines += ["", f"Decision threshold on P({classes[-1]}): {result['threshold']:.4f} "
              "(binary models; chosen on the validation images)" if len(classes) == 2 else "",
              "", "Confusion matrix (rows: true class, columns: predicted):", "",
              "| | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]  # fmt: skip
    lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |"
              for c, row in zip(classes, cm, strict=True)]  # fmt: skip
    lines += ["", "![ROC](roc.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return out


def _roc_png(path: Path, labels: np.ndarray, probs: np.ndarray, classes: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    shown = [1] if len(classes) == 2 else list(range(len(classes)))
    for c in shown:
        truth = labels == c
        if truth.all() or not truth.any():
            continue
        fpr, tpr, _ = roc_curve(truth, probs[:, c])
        ax.plot(fpr, tpr, label=classes[c])
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
