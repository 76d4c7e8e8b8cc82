"""Slice-level detection metrics (scikit-learn does the arithmetic)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def slice_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """ROC AUC, PR AUC, class means and the F1-optimal threshold."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    out: dict[str, Any] = {
        "n_slices": int(labels.size),
        "n_abnormal": int(labels.sum()),
        "mean_score_normal": float(scores[~labels].mean()) if (~labels).any() else None,
        "mean_score_abnormal": float(scores[labels].mean()) if labels.any() else None,
    }
    if labels.all() or not labels.any():
        out.update(roc_auc=None, pr_auc=None, best_threshold=None, best_f1=None)
        return out
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    out.update(
        roc_auc=float(roc_auc_score(labels, scores)),
        pr_auc=float(average_precision_score(labels, scores)),
        best_threshold=float(thresholds[best]) if len(thresholds) else None,
        best_f1=float(f1[best]),
    )
    return out
