"""The training-time reference distributions that drift monitoring compares the stream with.

Stored in the model card under ``drift_reference``: for every feature and every model
score, inner quantile bin edges and the share of reference rows per bin (plus a last bin
for missing values), and the ten most important features (XGBoost gain), whose drift
raises an alert. The reference is the most recent fifth of the training data by event
time (the test split): the slice closest to what the model will serve, scored
out-of-sample, so the score reference is what the stream's scores should look like.

``warmup_s`` says how much history the reference rows had behind them, at most as far back
as any feature looks: the time from the first training event to the first reference row,
capped at :attr:`FeatureConfig.history_s`. A stream that starts from empty state (a replay,
a demo, a new deployment) has emptier card and merchant windows than that for this long,
which PSI reads as drift; after an engine's cold start the monitor waits this long (at most
a day) before a window may alert (:mod:`fraudguard.metrics.drift`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.models.ensemble import Stacker
from fraudguard.models.estimators import BaseModels

BINS = 10
TOP = 10
CALENDAR: tuple[str, ...] = ("hour_of_day", "day_of_week", "is_weekend", "is_night")
"""Clock-derived features: within any window shorter than a week their distribution differs
from the reference by construction (the last hour has one hour of day), so they are
reported but never raise a drift alert and are not counted among the top features."""


def quantile_edges(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Inner edges of ``bins`` quantile bins; a variable with few distinct values gets one bin per value."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]  # +-inf fall in the outer bins; the card's JSON cannot hold them
    if v.size == 0:
        return np.empty(0)
    distinct = np.unique(v)
    if distinct.size <= bins:
        return (distinct[:-1] + distinct[1:]) / 2.0
    q = np.quantile(v, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    # Each edge halfway between the distinct values around it, never on a value: a Random
    # Forest's scores take few values, and the engine's compiled graph sums the same trees
    # in another order (1 ulp off), so an edge on a value moved whole groups of rows across
    # it (measured: score PSI 0.47 on the training history itself).
    k = np.clip(np.searchsorted(distinct, q, side="right"), 1, distinct.size - 1)
    return np.unique((distinct[k - 1] + distinct[k]) / 2.0)


def variable_reference(values: np.ndarray, bins: int = BINS) -> dict[str, list[float]]:
    """``{"edges": [...], "shares": [...]}`` (shares over ``len(edges) + 2`` bins, NaN bin last)."""
    v = np.asarray(values, dtype=np.float64)
    edges = quantile_edges(v, bins)
    idx = np.searchsorted(edges, v, side="right")
    idx[np.isnan(v)] = len(edges) + 1
    counts = np.bincount(idx, minlength=len(edges) + 2)
    return {"edges": edges.tolist(), "shares": (counts / max(1, v.size)).tolist()}


def top_features(models: BaseModels, names: list[str], k: int = TOP) -> list[str]:
    """The ``k`` features with the largest total XGBoost gain (``f<i>`` keys mapped to names)."""
    gain = models.xgboost.get_score(importance_type="total_gain")
    by_name: dict[str, float] = {}
    for key, value in gain.items():
        name = names[int(key[1:])] if key.startswith("f") and key[1:].isdigit() and int(key[1:]) < len(names) else key
        by_name[name] = float(value)  # type: ignore[arg-type]
    ranked = sorted(by_name, key=lambda n: -by_name[n])
    return [n for n in ranked if n not in CALENDAR][:k]


def warmup_seconds(event_seconds: np.ndarray, reference_rows: int, history_s: float) -> float:
    """Seconds from the first event to the first of the last ``reference_rows``, at most ``history_s``."""
    t = np.asarray(event_seconds, dtype=np.float64)
    if t.size == 0:
        return 0.0
    return float(min(max(0.0, t[t.size - reference_rows] - t[0]), history_s))


def build_reference(
    features: pd.DataFrame,
    names: list[str],
    models: BaseModels,
    stacker: Stacker,
    *,
    fraction: float = 0.2,
    event_seconds: np.ndarray | None = None,
    history_s: float = 0.0,
) -> dict[str, Any]:
    """The card's ``drift_reference`` from the time-ordered training features (last ``fraction``).

    ``event_seconds``: the rows' event times (sorted, aligned with ``features``), for
    ``warmup_s``; without them the warm-up is 0.
    """
    n_ref = max(1, int(len(features) * fraction))
    recent = features.iloc[-n_ref:][names]
    x = np.ascontiguousarray(recent.to_numpy(dtype=np.float32))
    base = models.scores(x)
    scores = {f"score_{m}": base[:, j] for j, m in enumerate(schema.MODEL_NAMES)}
    scores["ensemble_score"] = stacker(base)
    return {
        "rows": len(recent),
        "warmup_s": 0.0 if event_seconds is None else warmup_seconds(event_seconds, n_ref, history_s),
        "bins": BINS,
        "features": {n: variable_reference(recent[n].to_numpy()) for n in names},
        "scores": {n: variable_reference(s) for n, s in scores.items()},
        "top_features": top_features(models, names),
        "calendar": [n for n in names if n in CALENDAR],
    }
