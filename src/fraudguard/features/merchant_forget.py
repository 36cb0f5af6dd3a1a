"""What a merchant's state forgets as soon as a row adds it: the rows a block leaves out.

State keeps ``hourly_keep`` hourly buckets back from a merchant's newest hour, and daily
buckets and fraud labels back to ``merchant_days`` before its newest day. A row far enough
behind (a partition read a day or a month behind another) adds a bucket or label that
one-by-one processing drops at once, so no later row sees it; the block code
(``merchant.merchant_block``) must leave it out of its sums to give the same values.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fraudguard.features.config import FeatureConfig
from fraudguard.features.state import MerchantState


def hourly_keep(cfg: FeatureConfig) -> int:
    """Hourly buckets kept per merchant, counted back from its newest."""
    return cfg.buckets_per_day + 1 + cfg.lag_buckets


def newest_bucket(h: np.ndarray, count: np.ndarray, empty: int) -> np.ndarray:
    """Each merchant's newest bucket of sorted per-merchant buckets (``empty``: it has none).

    State holds each merchant's buckets (and labels) sorted and ``count`` per merchant, so
    the newest is the last of each run: no scatter needed.
    """
    newest = np.full(len(count), empty, np.int64)
    has = count > 0
    newest[has] = h[(np.cumsum(count) - 1)[has]]
    return newest


class Dropped(NamedTuple):
    """Per row, what state drops as soon as the row adds it (see :func:`dropped_at_once`)."""

    hourly: np.ndarray
    daily: np.ndarray
    label: np.ndarray


def dropped_at_once(
    codes: np.ndarray, hour: np.ndarray, inserted: np.ndarray, state: MerchantState, cfg: FeatureConfig
) -> Dropped:
    """Inserted rows whose hourly bucket, daily bucket or label state drops as soon as it is added.

    An hourly bucket ``hourly_keep`` or more behind its merchant's newest hour in state; a
    daily bucket or label of a day ``merchant_days + 1`` or more behind the newest day of
    state (of its daily buckets; of its hours and labels for a label: a label from
    ``observe_labels`` may be ahead of every row). Only state counts: in a block no row of a
    merchant is behind an earlier one (``segments.order_cuts``).

    One-by-one, no later row sees such a bucket or label; leaving it out of the block's
    buckets and labels does the same without cutting the batch at every row of a partition
    read a day (or a month) behind another.
    """
    none = np.zeros(len(codes), bool)
    rows = np.flatnonzero(inserted)
    if len(rows) == 0:
        return Dropped(none, none, none)
    c, h = codes[rows], hour[rows]
    per_day, floor = cfg.buckets_per_day, int(h.min()) - 1
    newest = newest_bucket(state.hourly["h"], state.hourly_count, floor)[c]
    newest_day = newest_bucket(state.daily["h"], state.daily_count, floor // per_day)[c]
    label_day = np.maximum(newest, newest_bucket(state.labels["eh"], state.label_count, floor)[c]) // per_day
    hourly, daily, label = none.copy(), none.copy(), none.copy()
    hourly[rows] = h <= newest - hourly_keep(cfg)
    daily[rows] = h // per_day <= newest_day - cfg.merchant_days - 1
    label[rows] = h // per_day <= label_day - cfg.merchant_days - 1
    return Dropped(hourly, daily, label)
