"""Champion versus one challenger on the same transactions: what the dashboard's model view shows.

* PR-AUC of each on the labelled rows;
* recall at the champion's alert volume: if the challenger raised exactly as many alerts as
  the champion did (its top-k scores), how much fraud would it catch - a like-for-like
  comparison that does not depend on the two thresholds;
* alert overlap: Jaccard index of the two alert sets at their own thresholds;
* a sample of (champion score, challenger score, truth) points for the scatter plot.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fraudguard.metrics.core import average_precision


def recall_at_volume(truth: np.ndarray, scores: np.ndarray, k: int) -> float | None:
    """Share of labelled fraud among the ``k`` highest scores of the labelled rows."""
    known = ~np.isnan(truth)
    y, s = truth[known] > 0.5, scores[known]
    if y.sum() == 0:
        return None
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].sum() / y.sum())


def jaccard(a: np.ndarray, b: np.ndarray) -> float | None:
    """``|a & b| / |a | b|`` of two boolean alert vectors (``None`` when neither alerts)."""
    union = int((a | b).sum())
    return None if union == 0 else float((a & b).sum() / union)


def compare_pair(
    champion_scores: np.ndarray,
    champion_threshold: np.ndarray,
    scores: np.ndarray,
    threshold: np.ndarray,
    truth: np.ndarray,
    *,
    sample: int = 400,
) -> dict[str, Any]:
    """The side-by-side numbers for one (champion, challenger) pair over the same rows."""
    truth = np.asarray(truth, dtype=np.float64)
    champ_alerts = champion_scores >= champion_threshold
    chall_alerts = scores >= threshold
    known = ~np.isnan(truth)
    volume = int(champ_alerts[known].sum())
    step = max(1, len(scores) // sample)
    return {
        "transactions": len(scores),
        "labelled": int(known.sum()),
        "champion_alerts": int(champ_alerts.sum()),
        "challenger_alerts": int(chall_alerts.sum()),
        "champion_pr_auc": average_precision(truth, champion_scores),
        "challenger_pr_auc": average_precision(truth, scores),
        "champion_recall": recall_at_volume(truth, champion_scores, volume),
        "challenger_recall_at_champion_volume": recall_at_volume(truth, scores, volume),
        "alert_overlap": jaccard(champ_alerts, chall_alerts),
        "scatter": [
            [round(float(a), 4), round(float(b), 4), None if np.isnan(t) else int(t)]
            for a, b, t in zip(champion_scores[::step], scores[::step], truth[::step], strict=True)
        ][:sample],
    }
