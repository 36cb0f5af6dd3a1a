"""Evaluation metrics for fraud scores, as plain JSON-ready dictionaries.

Fraud is rare (well under 1 % of transactions), so accuracy and even ROC-AUC flatter a
model; the headline is PR-AUC (average precision) and recall at a fixed, small false
positive rate, which is how a review team actually experiences a model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from fraudguard.errors import ModelError


def check_scores(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Labels as 0/1 ints and scores as float64, refusing shapes or sets that make metrics meaningless."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ModelError(f"labels {y.shape} and scores {s.shape} must be 1-D and of equal length")
    if not np.isin(y, (0, 1)).all():
        raise ModelError("labels must be 0/1 (is_fraud)")
    if not np.isfinite(s).all():
        raise ModelError("scores contain NaN or infinity")
    y = y.astype(np.int64)
    if y.min(initial=1) == y.max(initial=0):
        raise ModelError("evaluation needs both fraud and legitimate rows; this split has only one class")
    return y, s


def recall_at_fpr(y_true: ArrayLike, scores: ArrayLike, max_fpr: float) -> float:
    """Highest recall reachable while the false positive rate stays at or below ``max_fpr``.

    Taken from the ROC curve, so it is the recall of the best single threshold, the number a
    team with a fixed review budget ("at most 1 % of good customers bothered") cares about.
    """
    y, s = check_scores(y_true, scores)
    fpr, tpr, _ = roc_curve(y, s)
    ok = fpr <= max_fpr
    return float(tpr[ok].max()) if ok.any() else 0.0


def confusion(y_true: ArrayLike, scores: ArrayLike, threshold: float) -> dict[str, int]:
    """Counts of the decision ``score >= threshold`` against the labels."""
    y, s = check_scores(y_true, scores)
    pred = s >= threshold
    pos = y == 1
    return {
        "tn": int((~pred & ~pos).sum()),
        "fp": int((pred & ~pos).sum()),
        "fn": int((~pred & pos).sum()),
        "tp": int((pred & pos).sum()),
    }


def evaluate(y_true: ArrayLike, scores: ArrayLike, threshold: float) -> dict[str, Any]:
    """Every metric the model card reports for one model on one split.

    ``confusion_matrix`` is ``[[tn, fp], [fn, tp]]`` (scikit-learn's layout) so readers can
    compare it with ``sklearn.metrics.confusion_matrix`` directly.
    """
    y, s = check_scores(y_true, scores)
    c = confusion(y, s, threshold)
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pr_auc": float(average_precision_score(y, s)),
        "roc_auc": float(roc_auc_score(y, s)),
        "recall_at_1pct_fpr": recall_at_fpr(y, s, 0.01),
        "recall_at_0_1pct_fpr": recall_at_fpr(y, s, 0.001),
        "threshold": float(threshold),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion_matrix": [[c["tn"], c["fp"]], [c["fn"], c["tp"]]],
        "rows": int(y.size),
        "frauds": int(y.sum()),
    }
