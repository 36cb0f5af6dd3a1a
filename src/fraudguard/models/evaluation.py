"""Score a labelled history with a registered model, as the stream would, and report on it.

This is how a team checks a model on its own data before trusting it: the rows go through
the model's own feature pipeline (its stored :class:`FeatureConfig`, label delay included)
in event-time order from empty state, in chunks, exactly like ``train`` computed its
training features. Rows before ``warmup_until`` only build state (card histories, merchant
labels) and are left out of every metric.

The report holds ranking metrics (PR-AUC, ROC-AUC, recall at 1 % and 0.1 % FPR), what a
review team meets at the model's decision threshold (confusion, expected cost with the
card's cost ratio, one review = 1 unit, one missed fraud = ``cost_ratio`` units), precision
of the top ``k`` scores of each day (a team that reviews ``k`` alerts a day), and recall
per fraud scenario when the data names them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.errors import DataFormatError
from fraudguard.models.metrics import evaluate, recall_at_fpr
from fraudguard.models.scorer import Scorer


def labels_of(frame: pd.DataFrame) -> np.ndarray:
    """0/1 labels, refusing a frame without a label for every row (one clear message)."""
    if "is_fraud" not in frame.columns or frame["is_fraud"].isna().all():
        raise DataFormatError("is_fraud: the input has no labels; evaluation needs a label column (--map label=COLUMN)")
    y = pd.to_numeric(frame["is_fraud"], errors="coerce").to_numpy(np.float64)
    missing = int(np.isnan(y).sum())
    if missing:
        raise DataFormatError(f"is_fraud: {missing} of {y.size} rows have no label; evaluation needs every label")
    return (y >= 0.5).astype(np.int64)


def score_history(
    scorer: Scorer, frame: pd.DataFrame, warmup_until: pd.Timestamp | None = None, chunk_rows: int = 50_000
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(rows scored after warm-up, base scores (n, 3), ensemble scores)`` in event-time order."""
    if "event_time" not in frame.columns:
        raise DataFormatError("event_time: required column missing")
    ordered = frame.sort_values("event_time", kind="stable").reset_index(drop=True)
    pipe = scorer.make_pipeline()
    base_parts, ens_parts = [], []
    for start in range(0, len(ordered), chunk_rows):
        base, ens = scorer.raw_scores(pipe.transform(ordered.iloc[start : start + chunk_rows]))
        base_parts.append(base)
        ens_parts.append(ens)
    base = np.concatenate(base_parts) if base_parts else np.empty((0, len(schema.MODEL_NAMES)))
    ens = np.concatenate(ens_parts) if ens_parts else np.empty(0)
    keep = np.ones(len(ordered), bool)
    if warmup_until is not None:
        keep = (ordered["event_time"] >= warmup_until).to_numpy()
        if not keep.any():
            raise DataFormatError(f"--warmup-until {warmup_until.isoformat()} leaves no row to evaluate")
    return ordered[keep].reset_index(drop=True), base[keep], ens[keep]


def precision_top_k_per_day(y: np.ndarray, scores: np.ndarray, days: np.ndarray, k: int) -> float:
    """Share of frauds among the ``k`` highest scores of each day (all days pooled)."""
    order = np.lexsort((-scores, days))
    d = days[order]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    rank = np.arange(len(d)) - np.repeat(starts, np.diff(np.r_[starts, len(d)]))
    top = order[rank < k]
    return float(y[top].mean()) if top.size else 0.0


def scenario_recall(y: np.ndarray, scores: np.ndarray, scenario: np.ndarray, threshold: float) -> dict[str, Any]:
    """Per named scenario: frauds, recall at the decision threshold and at 1 % FPR."""
    legit = scores[y == 0]
    at_1pct = float(np.quantile(legit, 0.99)) if legit.size else 1.0
    out: dict[str, Any] = {}
    names = pd.Series(scenario).astype("string").fillna("").to_numpy(dtype=object)
    for name in sorted({str(s) for s in names[y == 1]}):
        sel = (y == 1) & (names == name)
        out[name or "(unnamed)"] = {
            "frauds": int(sel.sum()),
            "recall_at_threshold": float((scores[sel] >= threshold).mean()),
            "recall_at_1pct_fpr": float((scores[sel] > at_1pct).mean()),
        }
    return out


def build_report(
    scorer: Scorer, rows: pd.DataFrame, base: np.ndarray, ens: np.ndarray, top_k: int = 100
) -> dict[str, Any]:
    """Every number ``fraudguard evaluate`` prints and writes as JSON."""
    y = labels_of(rows)
    thresholds = scorer.model_thresholds
    scores = {m: base[:, j] for j, m in enumerate(schema.MODEL_NAMES)} | {schema.ENSEMBLE: ens}
    models = {m: evaluate(y, s, thresholds[m].value if m in thresholds else 0.5) for m, s in scores.items()}
    days = np.asarray(rows["event_time"].dt.tz_convert(None), "datetime64[D]").astype(np.int64)
    cost_ratio = float(scorer.card.hyperparameters.get("cost_ratio", 20.0))
    for m, s in scores.items():
        cm = models[m]["confusion_matrix"]
        (_, fp), (fn, tp) = cm
        models[m]["precision_top_k_per_day"] = precision_top_k_per_day(y, s, days, top_k)
        models[m]["expected_cost"] = float(fn * cost_ratio + fp + tp)
        models[m]["recall_at_1pct_fpr"] = recall_at_fpr(y, s, 0.01)
    report: dict[str, Any] = {
        "model_version": scorer.version,
        "rows": len(y),
        "frauds": int(y.sum()),
        "start": rows["event_time"].min().isoformat(),
        "end": rows["event_time"].max().isoformat(),
        "top_k_per_day": top_k,
        "cost_ratio": cost_ratio,
        "decision_threshold": float(scorer.thresholds.value),
        "models": models,
    }
    if "fraud_scenario" in rows.columns and rows["fraud_scenario"].notna().any():
        report["scenarios"] = scenario_recall(y, ens, rows["fraud_scenario"].to_numpy(), scorer.thresholds.value)
    return report
