"""Retraining from feedback: history + late labels in, a challenger and its evaluation out.

The pure half of ``fraudguard retrain`` (the CLI reads Parquet and PostgreSQL):

1. **Labels.** An analyst or chargeback label (PostgreSQL ``labels``) wins over the
   ground truth the transaction carried; rows with neither are dropped from training.
2. **Maturity.** Transactions newer than ``label_delay`` before the newest one are left
   out entirely: their labels are not final yet (chargebacks arrive days late).
3. **Window.** The most recent ``eval_fraction`` of the matured history (by event time)
   is the evaluation window; it is excluded from training. Times are anchored at the
   newest transaction in the history, not the wall clock, so replayed history works.
4. **Training** uses the same code as ``fraudguard train`` with the champion's feature
   configuration (engines keep their feature state when the challenger is promoted).
5. **Evaluation.** Features are computed over the whole matured history in event-time
   order (the window's stateful features see the history before it, as in the stream);
   champion and challenger are scored on the window: PR-AUC (what the promotion gate
   compares), recall at the champion's alert volume, and the overlap of their alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.errors import DataFormatError, ModelError
from fraudguard.features import FeatureConfig
from fraudguard.models.estimators import TrainConfig
from fraudguard.models.metrics import evaluate
from fraudguard.models.scorer import Scorer
from fraudguard.models.trainer import compute_features, train_and_register


@dataclass(frozen=True)
class RetrainPlan:
    """How much history, how mature the labels must be, how large the evaluation window."""

    since: timedelta = timedelta(days=30)
    label_delay: timedelta = timedelta(0)
    eval_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.since <= timedelta(0):
            raise ModelError("--since must be a positive duration")
        if self.label_delay < timedelta(0):
            raise ModelError("--label-delay must not be negative")
        if not 0.05 <= self.eval_fraction <= 0.5:
            raise ModelError(f"the evaluation window must be 5-50% of the history, got {self.eval_fraction}")


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s`` -> timedelta; a clear error otherwise."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    t = text.strip().lower()
    if len(t) < 2 or t[-1] not in units or not t[:-1].isdigit():
        raise ModelError(f"{text!r} is not a duration like 30d, 12h, 90m or 45s")
    return timedelta(**{units[t[-1]]: int(t[:-1])})


def with_labels(history: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``is_fraud`` replaced by the label where one exists; adds ``label_source`` (label / truth / none)."""
    out = history.copy()
    truth = out["is_fraud"].astype("float64")
    if len(labels):
        latest = labels.drop_duplicates("transaction_id", keep="last").set_index("transaction_id")["is_fraud"]
        lab = out["transaction_id"].map(latest).astype("float64")
    else:
        lab = pd.Series(np.nan, index=out.index)
    out["label_source"] = np.where(lab.notna(), "label", np.where(truth.notna(), "truth", "none"))
    out["is_fraud"] = lab.where(lab.notna(), truth)
    return out


def split_history(history: pd.DataFrame, plan: RetrainPlan) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """Matured, labelled history in event-time order, the evaluation-window mask, and the window's bounds."""
    if history.empty:
        raise DataFormatError("$: no transaction history to retrain on")
    newest = history["event_time"].max()
    since = newest - plan.since
    matured_until = newest - plan.label_delay
    keep = (history["event_time"] >= since) & (history["event_time"] <= matured_until) & history["is_fraud"].notna()
    data = history[keep].sort_values("event_time", kind="stable").reset_index(drop=True)
    if len(data) < 1000:
        raise DataFormatError(
            f"$: only {len(data)} labelled, matured transactions in the last {plan.since} (need 1000)"
        )
    cut = data["event_time"].iloc[int(len(data) * (1.0 - plan.eval_fraction))]
    window = (data["event_time"] >= cut).to_numpy()
    y = data.loc[window, "is_fraud"]
    if y.sum() == 0 or y.sum() == len(y):
        raise DataFormatError("$: the evaluation window needs both fraud and legitimate labels")
    bounds = {
        "from": cut.isoformat(),
        "to": data["event_time"].iloc[-1].isoformat(),
        "history_from": since.isoformat(),
        "label_delay_s": plan.label_delay.total_seconds(),
    }
    return data, window, bounds


def train_challenger(
    data: pd.DataFrame, window: np.ndarray, registry: Path, config: FeatureConfig, cfg: TrainConfig | None = None
) -> str:
    """Train on the history before the window with the usual code; register without making it current."""
    train = data.loc[~window, [c for c in data.columns if c != "label_source"]]
    source = {"path": "retrain", "format": "history", "sha256": None, "rows": len(train)}
    version, _card = train_and_register(
        train, registry, source=source, feature_config=config, cfg=cfg, make_current=False
    )
    return version


def compare(
    data: pd.DataFrame, window: np.ndarray, scorers: dict[str, Scorer], champion: str, config: FeatureConfig
) -> dict[str, Any]:
    """Every version scored on the window: PR-AUC, recall at the champion's alert volume, alert overlap."""
    fs = compute_features(data.drop(columns=["label_source"], errors="ignore"), config)
    win = fs.features[window]  # data is already in event-time order, so the rows line up
    y = data.loc[window, "is_fraud"].to_numpy(dtype=np.float64)
    scores = {v: s.raw_scores(win)[1] for v, s in scorers.items()}
    alerts = {v: scores[v] >= s.thresholds.value for v, s in scorers.items()}
    volume = int(alerts[champion].sum())
    report: dict[str, Any] = {"champion": champion, "labelled": len(y), "frauds": int(y.sum())}
    report["pr_auc"] = {v: evaluate(y, s, scorers[v].thresholds.value)["pr_auc"] for v, s in scores.items()}
    report["champion_alert_volume"] = volume
    report["recall_at_champion_volume"] = {v: _recall_at(y, s, volume) for v, s in scores.items()}
    report["alert_overlap"] = {v: _jaccard(alerts[champion], a) for v, a in alerts.items() if v != champion}
    return report


def _recall_at(y: np.ndarray, scores: np.ndarray, k: int) -> float | None:
    positives = y.sum()
    if positives == 0:
        return None
    top = np.argsort(-scores, kind="stable")[:k]
    return float(y[top].sum() / positives)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float | None:
    union = int((a | b).sum())
    return None if union == 0 else float((a & b).sum() / union)
