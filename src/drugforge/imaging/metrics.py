"""The classification report of an image model, MedMNIST's way.

ROC-AUC is P(class 1)'s for a binary model and the macro mean of one-vs-rest AUCs for a
multi-class one (as MedMNIST's evaluator computes it); accuracy, balanced accuracy, macro F1 and
the MCC are of the predicted labels (a binary model's saved threshold, else the most probable
class); the Brier score and log-loss of the probabilities; and the confusion matrix. Metric
names are the core's, so ``--require "roc_auc>=0.95"`` checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

__all__ = ["image_metrics"]


def image_metrics(labels: np.ndarray, probs: np.ndarray, pred: np.ndarray,
                  classes: Sequence[str]) -> dict[str, Any]:  # fmt: skip
    """Metrics of class-index ``labels`` ``(n,)`` given ``probs`` ``(n, C)`` and ``pred`` ``(n,)``."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    k = p.shape[1]
    present = np.unique(y)
    out: dict[str, Any] = {"n_images": len(y)}
    if k == 2:
        auc = skm.roc_auc_score(y, p[:, 1]) if len(present) == 2 else float("nan")
        pr = skm.average_precision_score(y, p[:, 1]) if len(present) == 2 else float("nan")
        out |= {"roc_auc": float(auc), "pr_auc": float(pr)}
    else:
        aucs = [skm.roc_auc_score(y == c, p[:, c]) for c in range(k) if 0 < (y == c).sum() < len(y)]
        out["roc_auc"] = float(np.mean(aucs)) if aucs else float("nan")
    onehot = np.eye(k)[y]
    out |= {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
        "f1": float(skm.f1_score(y, pred, average="macro", labels=list(range(k)), zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(y, pred)) if len(y) > 1 else float("nan"),
        "brier": float(((p - onehot) ** 2).sum(axis=1).mean() / (2 if k == 2 else 1)),
        "log_loss": float(-np.log(p[np.arange(len(y)), y]).mean()),
    }
    cm = skm.confusion_matrix(y, pred, labels=list(range(k)))
    out["confusion"] = {"classes": list(classes), "rows_true_cols_pred": cm.tolist()}
    out["recall_per_class"] = {str(c): (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None)
                               for i, c in enumerate(classes)}  # fmt: skip
    return out
