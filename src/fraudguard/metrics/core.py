"""Vectorized building blocks of the online metrics: decisions, confusion counts, PR-AUC.

Everything here works on whole NumPy arrays (one call per batch, no per-row Python) so the
tracker keeps up with the stream. Column order of every score matrix is :data:`MODELS`:
the three base models, then the ensemble.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fraudguard.schema import ENSEMBLE, MODEL_NAMES

MODELS: tuple[str, ...] = (*MODEL_NAMES, ENSEMBLE)
"""Column order of score / decision matrices: xgboost, random_forest, isolation_forest, ensemble."""
CELLS: tuple[str, ...] = ("tp", "fp", "tn", "fn")


def decide(scores: np.ndarray, row_threshold: np.ndarray, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
    """Boolean ``(n, 4)`` decisions ``score >= threshold`` for every model.

    The ensemble always uses the row's own threshold (the one the engine decided with).
    A base model uses ``thresholds[name]`` when given (its own threshold from the model
    card) and otherwise the row's ensemble threshold: a stored prediction carries no
    per-model threshold, so that is the only one that is always known.
    """
    limits = np.repeat(np.asarray(row_threshold, dtype=np.float64)[:, None], len(MODELS), axis=1)
    for j, name in enumerate(MODEL_NAMES):
        if thresholds and name in thresholds:
            limits[:, j] = float(thresholds[name])
    return np.asarray(scores, dtype=np.float64) >= limits


def confusion_counts(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``(models, 4)`` int64 counts in :data:`CELLS` order for rows whose truth is known.

    ``truth`` is float (1.0 fraud, 0.0 legit, NaN unknown); ``predicted`` is the boolean
    decision matrix. Rows with unknown truth are ignored.
    """
    known = ~np.isnan(truth)
    y = truth[known].astype(bool)[:, None]
    p = predicted[known]
    return np.stack(
        [(p & y).sum(0), (p & ~y).sum(0), (~p & ~y).sum(0), (~p & y).sum(0)],
        axis=1,
    ).astype(np.int64)


def rates(counts: np.ndarray) -> dict[str, float | None]:
    """Accuracy, precision, recall and F1 of one ``[tp, fp, tn, fn]`` row (``None`` if undefined)."""
    tp, fp, tn, fn = (int(v) for v in counts)
    n = tp + fp + tn + fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": (tp + tn) / n if n else None, "precision": precision, "recall": recall, "f1": f1}


def average_precision(truth: np.ndarray, scores: np.ndarray) -> float | None:
    """Exact PR-AUC (average precision, scikit-learn's definition) of one score vector.

    ``None`` when the labelled rows hold no fraud (the curve is undefined then).
    """
    known = ~np.isnan(truth)
    y = truth[known] > 0.5
    s = np.asarray(scores, dtype=np.float64)[known]
    positives = int(y.sum())
    if positives == 0:
        return None
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y)[last_of_tie]
    precision = tps / (last_of_tie + 1)
    recall = tps / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def binned_average_precision(pos_hist: np.ndarray, neg_hist: np.ndarray) -> float | None:
    """PR-AUC from score histograms (bins ascending), each bin edge taken as one threshold.

    The cumulative PR-AUC uses this so its memory stays constant over an unbounded stream;
    with 1,000 bins it differs from the exact value only by ties the binning creates.
    """
    tp = np.cumsum(pos_hist[::-1])
    fp = np.cumsum(neg_hist[::-1])
    positives = tp[-1] if tp.size else 0
    if positives == 0:
        return None
    keep = (np.r_[pos_hist[::-1] + neg_hist[::-1]]) > 0
    tp, fp = tp[keep], fp[keep]
    precision = tp / (tp + fp)
    recall = tp / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def histograms(truth: np.ndarray, scores: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-model score histograms ``(models, bins)`` of fraud and of legit rows (known truth only)."""
    known = ~np.isnan(truth)
    y = truth[known] > 0.5
    s = np.clip(np.asarray(scores, dtype=np.float64)[known], 0.0, 1.0)
    b = np.minimum((s * bins).astype(np.int64), bins - 1)
    n_models = s.shape[1] if s.ndim == 2 else 1
    flat = b + np.arange(n_models)[None, :] * bins
    pos = np.bincount(flat[y].ravel(), minlength=n_models * bins).reshape(n_models, bins)
    neg = np.bincount(flat[~y].ravel(), minlength=n_models * bins).reshape(n_models, bins)
    return pos, neg


def percentiles(values: np.ndarray, qs: tuple[float, ...] = (50, 95, 99)) -> dict[str, float | None]:
    """``p50``/``p95``/``p99``/``max`` of the finite values (``None`` when there are none)."""
    v = values[np.isfinite(values)]
    out: dict[str, float | None] = {f"p{q:g}": (float(np.percentile(v, q)) if v.size else None) for q in qs}
    out["max"] = float(v.max()) if v.size else None
    return out
