"""Per-merchant features over completed time buckets: volume, amount and known-fraud share.

A merchant can see thousands of transactions a day, so its state is not a list of events
but counts per bucket: hourly buckets for the last day, daily (UTC) buckets for up to the
longest window, and its fraud labels, each with the hour of its transaction (``eh``) and
the hour it became known (``kh``). A transaction in hour ``H`` of day ``D`` sees:

* a window under one day: hours ``[H - W, H)``;
* a window of ``d`` days: the ``d`` completed days ``[D - d, D)`` plus today's completed
  hours ``[24 D, H)`` (so it covers between ``d`` days and ``d`` days + 23 h).

Only completed buckets count, so nothing at or after ``t`` leaks in, and the state is at
most 25 hourly + 29 daily buckets for a 28-day window whatever the merchant's volume.

The fraud share is (fraud labels of transactions in the window, known before hour ``H``)
/ (transactions in the window), 0 when there were none. A label that becomes known later
is never counted, which is how labels behave in production (chargebacks come days later).
So a short window right before ``H`` holds almost no labels yet; the *fraud risk* windows
instead cover the ``w`` completed days that ended ``fraud_risk_delay_s`` (the label delay)
before day ``D``: transactions whose labels should be in. Share and count are reported.

With ``merchant_lag_s`` every window ends ``L`` buckets earlier: the query is made as if
at bucket ``H - L``. Buckets are sums, so a feature then depends on which events of buckets
before ``H - L`` arrived, not on their order: partitions read in any interleaving (less
than ``L`` apart in event time) give the same values.
"""

from __future__ import annotations

import numpy as np

from fraudguard.features.config import FeatureConfig, window_label
from fraudguard.features.merchant_forget import dropped_at_once, hourly_keep, newest_bucket
from fraudguard.features.merchant_streak import streak_block
from fraudguard.features.state import BUCKET_DTYPE, LABEL_DTYPE, MerchantState
from fraudguard.features.stateless import US_PER_S


def hour_of(t_us: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Bucket index since epoch of event times in microseconds."""
    return np.floor_divide(t_us, int(cfg.merchant_bucket_s * US_PER_S))


def _codes(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def _combine_buckets(
    k: int,
    state: np.ndarray,
    state_count: np.ndarray,
    new_codes: np.ndarray,
    new_h: np.ndarray,
    new_n: np.ndarray,
    new_amount: np.ndarray,
    keep_last: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Add new bucket contributions to sorted per-merchant buckets; keep the last ``keep_last`` periods."""
    codes = np.concatenate([_codes(state_count), new_codes])
    h = np.concatenate([state["h"], new_h])
    if len(h) == 0:
        return np.empty(0, BUCKET_DTYPE), np.zeros(k, np.int64)
    lo = int(h.min())
    width = int(h.max()) - lo + 1
    key = codes * width + (h - lo)
    order = np.argsort(key, kind="stable")  # two sorted runs: a linear merge
    key = key[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    out_codes = codes[order][starts]
    out_h = h[order][starts]
    n = np.add.reduceat(np.concatenate([state["n"], new_n])[order], starts)
    amount = np.add.reduceat(np.concatenate([state["amount"], new_amount])[order], starts)
    count = np.bincount(out_codes, minlength=k)
    keep = out_h > newest_bucket(out_h, count, 0)[out_codes] - keep_last
    out = np.empty(int(keep.sum()), BUCKET_DTYPE)
    out["h"], out["n"], out["amount"] = out_h[keep], n[keep], amount[keep]
    return out, np.bincount(out_codes[keep], minlength=k)


def newest_hour(
    hourly: np.ndarray, hourly_count: np.ndarray, labels: np.ndarray, label_codes: np.ndarray
) -> np.ndarray:
    """Each merchant's newest hour, of its sorted hourly buckets and its (unsorted) labels.

    A label from the labels topic can be ahead of every row, so label horizons count from
    the newest of both (``combine_labels``).
    """
    newest = newest_bucket(hourly["h"], hourly_count, np.iinfo(np.int64).min)
    np.maximum.at(newest, label_codes, labels["eh"])
    return newest


def combine_labels(
    cfg: FeatureConfig, k: int, labels: np.ndarray, label_codes: np.ndarray, newest_hour: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge duplicate labels per merchant, drop those older than every window, cap the count."""
    order = np.lexsort((labels["kh"], labels["eh"], label_codes))
    c, lab = label_codes[order], labels[order]
    change = np.ones(len(c), bool)
    change[1:] = (c[1:] != c[:-1]) | (lab["eh"][1:] != lab["eh"][:-1]) | (lab["kh"][1:] != lab["kh"][:-1])
    starts = np.flatnonzero(change)
    c, lab = c[starts], lab[starts].copy()
    if len(starts):
        lab["n"] = np.add.reduceat(labels["n"][order], starts)
    horizon = (newest_hour // cfg.buckets_per_day - cfg.merchant_days) * cfg.buckets_per_day
    keep = lab["eh"] >= horizon[c]
    count = np.bincount(c, minlength=k)
    from_end = np.cumsum(count)[c] - np.arange(len(c)) - 1
    keep &= from_end < cfg.max_merchant_labels
    return lab[keep], np.bincount(c[keep], minlength=k)


class _RangeSum:
    """Sums of bucket counts and amounts over (merchant, [a, b)) ranges of sorted buckets."""

    def __init__(
        self, codes: np.ndarray, h: np.ndarray, n: np.ndarray, amount: np.ndarray, lo: int, width: int
    ) -> None:
        self.keys = codes * width + (h - lo)
        self.lo, self.width = lo, width
        self.cum_n = np.concatenate([[0.0], np.cumsum(n)])
        self.cum_a = np.concatenate([[0.0], np.cumsum(amount)])

    def __call__(self, codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = codes * self.width - self.lo
        i = np.searchsorted(self.keys, base + np.clip(a, self.lo, self.lo + self.width), "left")
        j = np.searchsorted(self.keys, base + np.clip(b, self.lo, self.lo + self.width), "left")
        return self.cum_n[j] - self.cum_n[i], self.cum_a[j] - self.cum_a[i]

    def last(self, codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The last bucket in ``[a, b)`` of each merchant, ``a - 1`` when it has none there."""
        base = codes * self.width - self.lo
        i = np.searchsorted(self.keys, base + np.clip(a, self.lo, self.lo + self.width), "left")
        j = np.searchsorted(self.keys, base + np.clip(b, self.lo, self.lo + self.width), "left") - 1
        found = j >= i
        return np.where(found, self.keys[np.maximum(j, 0)] - base if len(self.keys) else a - 1, a - 1)


def _batch_buckets(codes: np.ndarray, h: np.ndarray, amount: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows aggregated per (merchant, bucket), sorted."""
    if len(codes) == 0:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0), np.empty(0)
    lo, width = int(h.min()), int(h.max() - h.min()) + 1
    keys, inv = np.unique(codes * width + (h - lo), return_inverse=True)
    return (
        keys // width,
        keys % width + lo,
        np.bincount(inv, minlength=len(keys)).astype(np.float64),
        np.bincount(inv, amount, len(keys)),
    )


def merchant_block(
    codes: np.ndarray,
    t_us: np.ndarray,
    amount: np.ndarray,
    new_labels: np.ndarray,
    inserted: np.ndarray,
    state: MerchantState,
    cfg: FeatureConfig,
) -> tuple[dict[str, np.ndarray], MerchantState]:
    """Features of a block of rows, then the merchants' new state.

    ``new_labels`` (label records aligned with rows, ``n`` = 0 where none) are labels the
    rows bring themselves (``label_delay_s``). Only ``inserted`` rows enter state. In a
    block no merchant goes back to an earlier hour after a later one (``segments.order_cuts``),
    so rows arriving after row i sit in hours >= H(i) and never reach its windows.
    """
    k = len(state.hourly_count)
    per_day = cfg.buckets_per_day
    hour = hour_of(t_us, cfg)
    day = hour // per_day
    dropped = dropped_at_once(codes, hour, inserted, state, cfg)
    hourly_rows, daily_rows = inserted & ~dropped.hourly, inserted & ~dropped.daily
    bh = _batch_buckets(codes[hourly_rows], hour[hourly_rows], amount[hourly_rows])
    bd = _batch_buckets(codes[daily_rows], hour[daily_rows] // per_day, amount[daily_rows])

    lo_h = (
        int(min(hour.min(), state.hourly["h"].min() if len(state.hourly) else hour.min()))
        - 2 * per_day
        - cfg.lag_buckets
    )
    w_h = int(max(hour.max(), state.hourly["h"].max() if len(state.hourly) else hour.max())) - lo_h + 2
    lo_d = int(min(day.min(), state.daily["h"].min() if len(state.daily) else day.min())) - cfg.merchant_days - 1
    w_d = int(max(day.max(), state.daily["h"].max() if len(state.daily) else day.max())) - lo_d + 2
    # Every merchant feature depends only on (merchant, hour): compute once per distinct pair.
    qkeys, qinv = np.unique(codes * w_h + (hour - lo_h), return_inverse=True)
    row_codes = codes
    codes, hour = qkeys // w_h, qkeys % w_h + lo_h - cfg.lag_buckets
    day = hour // per_day
    hs = _RangeSum(_codes(state.hourly_count), state.hourly["h"], state.hourly["n"], state.hourly["amount"], lo_h, w_h)
    hb = _RangeSum(bh[0], bh[1], bh[2], bh[3], lo_h, w_h)
    ds = _RangeSum(_codes(state.daily_count), state.daily["h"], state.daily["n"], state.daily["amount"], lo_d, w_d)
    db = _RangeSum(bd[0], bd[1], bd[2], bd[3], lo_d, w_d)

    cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def window(w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if w not in cache:
            cache[w] = _window(w)
        return cache[w]

    def _window(w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(count, amount, first hour) of each query's window."""
        if w < 86400:
            start = hour - w // cfg.merchant_bucket_s
            (n1, a1), (n2, a2) = hs(codes, start, hour), hb(codes, start, hour)
            return n1 + n2, a1 + a2, start
        d = w // 86400
        today = day * per_day
        (n1, a1), (n2, a2) = hs(codes, today, hour), hb(codes, today, hour)
        (n3, a3), (n4, a4) = ds(codes, day - d, day), db(codes, day - d, day)
        return n1 + n2 + n3 + n4, a1 + a2 + a3 + a4, (day - d) * per_day

    feats: dict[str, np.ndarray] = {}
    for w in cfg.merchant_windows_s:
        cnt, amt, _ = window(w)
        feats[f"merchant_count_{window_label(w)}"] = cnt[qinv]
        feats[f"merchant_amount_{window_label(w)}"] = amt[qinv]

    has_label = inserted & ~dropped.label & (new_labels["n"] > 0)
    l_codes = np.concatenate([_codes(state.label_count), row_codes[has_label]])
    labels = np.concatenate([state.labels, new_labels[has_label]])
    lorder = np.argsort(l_codes, kind="stable")
    l_codes, labels = l_codes[lorder], labels[lorder]
    l_count = np.bincount(l_codes, minlength=k)
    # Pair each distinct (merchant, hour) query with that merchant's labels.
    qcode, qh = codes, hour
    lstart = np.concatenate([[0], np.cumsum(l_count)])
    lengths = l_count[qcode]
    prow = np.repeat(np.arange(len(qkeys)), lengths)
    pidx = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths - lstart[qcode], lengths)
    lab = labels[pidx]
    known = lab["kh"] < qh[prow]
    for w in cfg.fraud_share_windows_s:
        total, _, first = window(w)
        ok = known & (lab["eh"] >= first[prow]) & (lab["eh"] < qh[prow])
        frauds = np.bincount(prow[ok], lab["n"][ok], len(qkeys))
        share = np.where(total > 0, np.minimum(frauds / np.maximum(total, 1), 1.0), 0.0)
        feats[f"merchant_fraud_share_{window_label(w)}"] = share[qinv]
        feats[f"merchant_fraud_known_{window_label(w)}"] = frauds[qinv]
    delay_d = cfg.fraud_risk_delay_s // 86400
    for w in cfg.fraud_risk_windows_s:
        a, b = day - delay_d - w // 86400, day - delay_d
        (n1, _), (n2, _) = ds(codes, a, b), db(codes, a, b)
        total = n1 + n2
        ok = known & (lab["eh"] >= a[prow] * per_day) & (lab["eh"] < b[prow] * per_day)
        frauds = np.bincount(prow[ok], lab["n"][ok], len(qkeys))
        feats[f"merchant_fraud_risk_{window_label(w)}"] = np.where(
            total > 0, np.minimum(frauds / np.maximum(total, 1), 1.0), 0.0
        )[qinv]
        feats[f"merchant_fraud_count_{window_label(w)}"] = frauds[qinv]
    if cfg.merchant_streak:
        streak = streak_block(
            codes, day, prow[known], lab["eh"][known] // per_day, lab["n"][known], (ds, db), (ds.last, db.last), cfg
        )
        feats.update({name: v[qinv] for name, v in streak.items()})

    hourly, hcount = _combine_buckets(k, state.hourly, state.hourly_count, bh[0], bh[1], bh[2], bh[3], hourly_keep(cfg))
    daily, dcount = _combine_buckets(
        k, state.daily, state.daily_count, bd[0], bd[1], bd[2], bd[3], cfg.merchant_days + 1
    )
    lab_out, lcount = combine_labels(cfg, k, labels, l_codes, newest_hour(hourly, hcount, labels, l_codes))
    return feats, MerchantState(hourly, hcount, daily, dcount, lab_out, lcount)


def label_records(t_us: np.ndarray, is_fraud: np.ndarray, known_at_us: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Label records for rows (``n`` = 1 for fraud, 0 otherwise); known no earlier than the event."""
    rec = np.zeros(len(t_us), LABEL_DTYPE)
    rec["eh"] = hour_of(t_us, cfg)
    rec["kh"] = np.maximum(hour_of(known_at_us, cfg), rec["eh"])
    rec["n"] = (is_fraud == 1).astype(np.float64)
    return rec
