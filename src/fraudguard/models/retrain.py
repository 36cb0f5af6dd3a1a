"""Retraining from feedback: history + late labels in, a challenger and its evaluation out.

The pure half of ``fraudguard retrain`` (``io/retrain_io.py`` reads the history and the
labels, and drives these steps):

1. **Labels.** An analyst or chargeback label (PostgreSQL ``labels``) wins over the
   ground truth the transaction carried; rows with neither are dropped from training.
2. **Maturity.** Transactions newer than ``label_delay`` before the newest one are left
   out entirely: their labels are not final yet (chargebacks arrive days late).
3. **Window.** The most recent ``eval_fraction`` of the matured history (by event time)
   is the evaluation window; it is excluded from training. Times are anchored at the
   newest transaction in the history, not the wall clock, so replayed history works.
4. **Bounded memory** (:mod:`.retrain_sample`). The history is streamed twice in event-time
   order: a :class:`Census` counts it, then features are computed over every row but only a
   seeded sample is held. A history that fits ``max_rows`` is held whole, so the result is
   the in-memory one; a larger one keeps every fraud (unless frauds alone exceed half the
   budget) and a share of the legitimate rows, each weighted by 1 / its sampling rate.
5. **Training** uses the same code as ``fraudguard train`` with the champion's feature
   configuration (engines keep their feature state when the challenger is promoted).
6. **Evaluation.** The window's stateful features see the history before it, as in the
   stream; champion and challenger are scored on the window: PR-AUC (what the promotion
   gate compares), recall at the champion's alert volume, and the overlap of their alerts,
   all weighted by the sample weights (unweighted when everything is held).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from fraudguard.errors import ModelError
from fraudguard.models.metrics import check_scores
from fraudguard.models.scorer import Scorer


@dataclass(frozen=True)
class RetrainPlan:
    """How much history, how mature the labels must be, how large the evaluation window, how much is held."""

    since: timedelta = timedelta(days=30)
    label_delay: timedelta = timedelta(0)
    eval_fraction: float = 0.2
    max_rows: int = 2_000_000
    """Most rows whose features are held for training and evaluation (about 290 bytes each)."""
    seed: int = 0
    """Seed of the sample: the same history and seed hold the same transactions."""

    def __post_init__(self) -> None:
        if self.since <= timedelta(0):
            raise ModelError("--since must be a positive duration")
        if self.label_delay < timedelta(0):
            raise ModelError("--label-delay must not be negative")
        if not 0.05 <= self.eval_fraction <= 0.5:
            raise ModelError(f"the evaluation window must be 5-50% of the history, got {self.eval_fraction}")
        if self.max_rows < 2000:
            raise ModelError(f"--max-rows must be at least 2000, got {self.max_rows}")
        if not 0 <= self.seed < 10**16:
            raise ModelError(f"--seed must be in [0, 1e16), got {self.seed}")


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s`` -> timedelta; a clear error otherwise."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    t = text.strip().lower()
    if len(t) < 2 or t[-1] not in units or not t[:-1].isdigit():
        raise ModelError(f"{text!r} is not a duration like 30d, 12h, 90m or 45s")
    return timedelta(**{units[t[-1]]: int(t[:-1])})


def latest_labels(labels: pd.DataFrame) -> pd.Series:
    """The last label given to each transaction: ``transaction_id`` -> 0.0 / 1.0."""
    latest = labels.drop_duplicates("transaction_id", keep="last").set_index("transaction_id")["is_fraud"]
    return latest.astype("float64")


def with_labels(history: pd.DataFrame, labels: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """``is_fraud`` replaced by the label where one exists; adds ``label_source`` (label / truth / none).

    ``labels`` is a frame of (``transaction_id``, ``is_fraud``) rows, or :func:`latest_labels`
    of one (cheaper when many slices of a history are labelled with the same labels).
    """
    out = history.copy()
    truth = out["is_fraud"].astype("float64")
    latest = labels if isinstance(labels, pd.Series) else latest_labels(labels)
    lab = out["transaction_id"].map(latest).astype("float64") if len(latest) else pd.Series(np.nan, index=out.index)
    out["label_source"] = np.where(lab.notna(), "label", np.where(truth.notna(), "truth", "none"))
    out["is_fraud"] = lab.where(lab.notna(), truth)
    return out


@dataclass(frozen=True)
class Scope:
    """The rows retraining uses: labelled, at most ``since`` older than the newest, matured."""

    newest: pd.Timestamp
    since: pd.Timestamp
    matured_until: pd.Timestamp

    @classmethod
    def of(cls, newest: pd.Timestamp, plan: RetrainPlan) -> Scope:
        """The scope of a history whose newest transaction is at ``newest``."""
        return cls(newest, newest - plan.since, newest - plan.label_delay)

    def mask(self, labelled: pd.DataFrame) -> np.ndarray:
        """Which rows of a :func:`with_labels` slice are in scope."""
        t = labelled["event_time"]
        return ((t >= self.since) & (t <= self.matured_until) & labelled["is_fraud"].notna()).to_numpy()


@dataclass
class Census:
    """The first pass: how many in-scope rows and frauds, and where their labels came from."""

    rows: int = 0
    frauds: int = 0
    sources: Counter[str] = field(default_factory=Counter)

    def add(self, in_scope: pd.DataFrame) -> None:
        """Count a labelled slice already restricted to the :class:`Scope`."""
        self.rows += len(in_scope)
        self.frauds += int((in_scope["is_fraud"].to_numpy(dtype=np.float64) >= 0.5).sum())
        self.sources.update(in_scope["label_source"].value_counts().to_dict())


@dataclass
class Window:
    """The evaluation window as held: features, labels and sample weights, in event-time order."""

    features: pd.DataFrame
    y: np.ndarray
    weights: np.ndarray


def compare(window: Window, scorers: dict[str, Scorer], champion: str) -> dict[str, Any]:
    """Every version scored on the window: PR-AUC, recall at the champion's alert volume, alert overlap.

    Sums are weighted by the sample weights, so a sampled window estimates the whole one;
    with every row held (all weights 1) the figures are the plain unweighted ones.
    """
    y, w = window.y.astype(np.float64), window.weights.astype(np.float64)
    weighted = None if bool((w == 1.0).all()) else w
    scores = {v: s.raw_scores(window.features)[1] for v, s in scorers.items()}
    alerts = {v: scores[v] >= s.thresholds.value for v, s in scorers.items()}
    volume = float((w * alerts[champion]).sum())
    report: dict[str, Any] = {
        "champion": champion,
        "labelled": round(w.sum()),
        "frauds": round((w * y).sum()),
    }
    report["pr_auc"] = {v: _pr_auc(y, s, weighted) for v, s in scores.items()}
    report["champion_alert_volume"] = round(volume)
    report["recall_at_champion_volume"] = {v: _recall_at(y, s, volume, w) for v, s in scores.items()}
    report["alert_overlap"] = {v: _jaccard(alerts[champion], a, w) for v, a in alerts.items() if v != champion}
    return report


def _pr_auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None) -> float:
    labels, s = check_scores(y, scores)
    return float(average_precision_score(labels, s, sample_weight=weights))


def _recall_at(y: np.ndarray, scores: np.ndarray, volume: float, w: np.ndarray) -> float | None:
    """Share of (weighted) frauds among the top-scored rows whose weights add up to ``volume``."""
    positives = (w * y).sum()
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    top = order[np.cumsum(w[order]) <= volume + 1e-9]
    return float((w[top] * y[top]).sum() / positives)


def _jaccard(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float | None:
    union = float((w * (a | b)).sum())
    return None if union == 0 else float((w * (a & b)).sum() / union)
