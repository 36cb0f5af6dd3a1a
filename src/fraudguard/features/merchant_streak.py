"""A merchant's latest known label history: has it had only frauds since some day?

Why: a breached terminal turns every sale into a fraud from one day on, and those labels
arrive a label delay later. Fraud shares over fixed windows mix that run with the legit days
before it (and read 0 for a window without sales), so they cannot tell "frauds only, for the
last five known days" from "one fraud among many sales". Measured on the Fraud Detection
Handbook's simulated set (XGBoost alone, same split and settings): test PR-AUC 0.780 ->
0.792, recall at 1 % FPR 0.793 -> 0.800 with these four features computed from daily counts.

Over the days whose labels are in, ``[D - delay - w, D - delay)`` (``w`` the longest risk
window, so exactly the days the risk windows read), day by day: a day is *legit* when it
had more transactions than known frauds. Per row, in days:

* ``merchant_legit_age_d``: since the last legit day (NaN without one);
* ``merchant_fraud_age_d``: since the last day with a known fraud (NaN without one);
* ``merchant_fraud_streak``: known frauds after the last legit day;
* ``merchant_fraud_streak_age_d``: since the first of those frauds (NaN when there are none).

The same values as ``single_merchant.streak_one`` computes for one row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fraudguard.features.config import FeatureConfig
from fraudguard.features.names import STREAK_FEATURES

RangeCount = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
LastBucket = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def streak_days(cfg: FeatureConfig) -> tuple[int, int]:
    """``(delay_days, span_days)``: the known days are ``[D - delay - span, D - delay)``."""
    span = max(cfg.fraud_risk_windows_s) // 86400 if cfg.fraud_risk_windows_s else 0
    return cfg.fraud_risk_delay_s // 86400, span


def streak_block(
    codes: np.ndarray,
    day: np.ndarray,
    label_query: np.ndarray,
    label_day: np.ndarray,
    label_n: np.ndarray,
    counts: tuple[RangeCount, RangeCount],
    lasts: tuple[LastBucket, LastBucket],
    cfg: FeatureConfig,
) -> dict[str, np.ndarray]:
    """The four features per query ``(codes[i], day[i])``.

    ``label_query``/``label_day``/``label_n``: the known fraud labels paired with queries
    (query index, transaction day, count). ``counts``: daily transaction counts over
    ``[a, b)`` from state and from the block; ``lasts``: the last day with a bucket in
    ``[a, b)`` (``a - 1`` when none), from state and from the block.
    """
    nq = len(codes)
    delay, span = streak_days(cfg)
    end = day - delay
    first = end - span
    ok = (label_day >= first[label_query]) & (label_day < end[label_query]) & (label_n > 0)
    fq, fd, fn = label_query[ok], label_day[ok], label_n[ok]
    # Without a known fraud in range, every day with a sale is a legit day.
    last_legit = np.maximum(lasts[0](codes, first, end), lasts[1](codes, first, end))
    last_fraud = first - 1
    streak = np.zeros(nq)
    start = np.full(nq, -1, np.int64)
    has = np.flatnonzero(np.bincount(fq, minlength=nq) > 0) if span > 0 else np.empty(0, np.int64)
    if has.size:
        m = has.size
        rank = np.full(nq, -1, np.int64)
        rank[has] = np.arange(m)
        d = (first[has][:, None] + np.arange(span)[None, :]).ravel()
        c = np.repeat(codes[has], span)
        n = counts[0](c, d, d + 1)[0] + counts[1](c, d, d + 1)[0]
        frauds = np.bincount(rank[fq] * span + (fd - first[fq]), fn, m * span)
        grid = np.arange(span)[None, :]
        fr = frauds.reshape(m, span)
        legit_i = np.where((n > frauds).reshape(m, span), grid, -1).max(axis=1)
        after = grid > legit_i[:, None]
        last_legit = last_legit.copy()
        last_legit[has] = first[has] + legit_i
        last_fraud = last_fraud.copy()
        last_fraud[has] = first[has] + np.where(fr > 0, grid, -1).max(axis=1)
        streak[has] = np.where(after, fr, 0.0).sum(axis=1)
        run = np.where(after & (fr > 0), grid, span).min(axis=1)
        start[has] = np.where(run < span, first[has] + run, -1)
    nan = np.nan
    values = (
        np.where(last_legit >= first, (day - last_legit).astype(np.float64), nan),
        np.where(last_fraud >= first, (day - last_fraud).astype(np.float64), nan),
        streak,
        np.where(start >= 0, (day - start).astype(np.float64), nan),
    )
    return dict(zip(STREAK_FEATURES, values, strict=True))
