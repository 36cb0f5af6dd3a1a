"""Decision thresholds chosen on the validation split, never on test.

Three policies are computed for every model so the card shows the trade-off:

* ``best_f1`` - the threshold with the highest F1 (default decision threshold);
* ``target_fpr`` - the lowest threshold whose false positive rate stays within a budget
  (e.g. 1 % of legitimate transactions sent to review);
* ``cost`` - the threshold minimising ``fraud_loss * missed_frauds + review_cost * alerts``
  for a given ratio of average fraud loss to the cost of one manual review.

Decisions everywhere are ``score >= threshold``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from fraudguard.errors import ModelError
from fraudguard.models.metrics import check_scores

Policy = Literal["best_f1", "target_fpr", "cost"]
POLICIES: tuple[str, ...] = ("best_f1", "target_fpr", "cost")


@dataclass(frozen=True)
class Thresholds:
    """The three candidate thresholds of one model and the policy the scorer uses."""

    best_f1: float
    target_fpr: float
    cost: float
    used: Policy = "best_f1"
    fpr_target: float = 0.01
    cost_ratio: float = 20.0

    @property
    def value(self) -> float:
        """The decision threshold of the chosen policy."""
        return float(getattr(self, self.used))

    def to_dict(self) -> dict[str, float | str]:
        """JSON form for the model card (``used`` names the policy, ``value`` its threshold)."""
        return {**asdict(self), "value": self.value}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Thresholds:
        """Inverse of :meth:`to_dict`; refuses an unknown policy."""
        used = str(data.get("used", "best_f1"))
        if used not in POLICIES:
            raise ModelError(f"threshold policy {used!r} is not one of {', '.join(POLICIES)}")
        return cls(
            best_f1=float(data["best_f1"]),  # type: ignore[arg-type]
            target_fpr=float(data["target_fpr"]),  # type: ignore[arg-type]
            cost=float(data["cost"]),  # type: ignore[arg-type]
            used=used,  # type: ignore[arg-type]
            fpr_target=float(data.get("fpr_target", 0.01)),  # type: ignore[arg-type]
            cost_ratio=float(data.get("cost_ratio", 20.0)),  # type: ignore[arg-type]
        )


def _sweep(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (descending) with the true/false positives flagged at each as threshold."""
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(1 - y_sorted)
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return s_sorted[last_of_tie], tp[last_of_tie], fp[last_of_tie]


def best_f1_threshold(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Threshold maximising F1; ties go to the higher threshold (fewer alerts)."""
    y, s = check_scores(y_true, scores)
    cand, tp, fp = _sweep(y, s)
    f1 = 2 * tp / (tp + fp + y.sum())  # 2PR/(P+R) == 2TP/(2TP+FP+FN) == 2TP/(TP+FP+P)
    return float(cand[int(np.argmax(f1))])


def fpr_threshold(y_true: ArrayLike, scores: ArrayLike, max_fpr: float) -> float:
    """Lowest threshold whose false positive rate on these rows is at most ``max_fpr``."""
    if not 0.0 <= max_fpr < 1.0:
        raise ModelError(f"target false positive rate must be in [0, 1), got {max_fpr}")
    y, s = check_scores(y_true, scores)
    cand, _, fp = _sweep(y, s)
    allowed = math.floor(max_fpr * int((y == 0).sum()) + 1e-9)
    ok = np.flatnonzero(fp <= allowed)
    if ok.size == 0:  # even the top score catches too many negatives: flag nothing
        return float(np.nextafter(cand[0], np.inf))
    return float(cand[ok[-1]])


def cost_threshold(y_true: ArrayLike, scores: ArrayLike, cost_ratio: float) -> float:
    """Threshold minimising ``cost_ratio * missed_frauds + alerts`` (one review costs 1).

    ``cost_ratio`` is average fraud loss divided by the cost of reviewing one alert; a
    ratio of 20 means a missed fraud costs as much as twenty reviews.
    """
    if not cost_ratio > 0:
        raise ModelError(f"fraud-loss to review-cost ratio must be positive, got {cost_ratio}")
    y, s = check_scores(y_true, scores)
    cand, tp, fp = _sweep(y, s)
    positives = int(y.sum())
    cost = cost_ratio * (positives - tp) + (tp + fp)
    best = int(np.argmin(cost))
    if cost_ratio * positives <= cost[best]:  # alerting on nothing is cheapest
        return float(np.nextafter(cand[0], np.inf))
    return float(cand[best])


def choose_thresholds(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    used: Policy = "best_f1",
    fpr_target: float = 0.01,
    cost_ratio: float = 20.0,
) -> Thresholds:
    """All three thresholds for one model's validation scores."""
    if used not in POLICIES:
        raise ModelError(f"threshold policy {used!r} is not one of {', '.join(POLICIES)}")
    return Thresholds(
        best_f1=best_f1_threshold(y_true, scores),
        target_fpr=fpr_threshold(y_true, scores, fpr_target),
        cost=cost_threshold(y_true, scores, cost_ratio),
        used=used,
        fpr_target=fpr_target,
        cost_ratio=cost_ratio,
    )
