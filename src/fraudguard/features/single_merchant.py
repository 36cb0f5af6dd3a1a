"""One row's merchant features and the merchant's new state bytes, in plain Python.

The scalar twin of ``steps.merchant_step`` (``merchant.py``) for one row (see ``single_card.py`` for why
and for the rules that keep the values identical). What makes one row simple: its own
bucket (hour ``H``, day ``H // 24``) is never inside its own windows, which end at the
start of ``H - lag``, and its own label is never known before ``H``; so the features read
the stored buckets and labels only, and the row changes the state afterwards.

Stored buckets are sorted by bucket and labels by (event hour, known hour) without
duplicates (``merchant._combine_buckets`` and ``merchant.combine_labels`` write them so);
the new state is cut from the old bytes plus at most one repacked bucket per list and
one label.
"""

from __future__ import annotations

import struct
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import NamedTuple

from fraudguard.errors import StateStoreError
from fraudguard.features.config import FeatureConfig
from fraudguard.features.merchant_streak import streak_days
from fraudguard.features.single_card import Row, npmax, npmin
from fraudguard.features.state import BUCKET_DTYPE, LABEL_DTYPE
from fraudguard.features.stateless import US_PER_S

HEADER = struct.Struct("<III")
BUCKET = struct.Struct("<qdd")
LABEL = struct.Struct("<qqd")
assert BUCKET.size == BUCKET_DTYPE.itemsize and LABEL.size == LABEL_DTYPE.itemsize


class _Plan(NamedTuple):
    """What :func:`merchant_one` reads from the configuration, computed once per configuration."""

    bucket_us: int
    per_day: int
    lag: int
    windows: tuple[int, ...]
    shares: tuple[int, ...]
    risks: tuple[tuple[int, int], ...]
    """(days back of the window's start, days back of its end) per fraud-risk window."""
    keep_hours: int
    keep_days: int
    merchant_days: int
    max_labels: int
    label_delay_us: int | None


_PLANS: dict[int, tuple[FeatureConfig, _Plan]] = {}


def _plan(cfg: FeatureConfig) -> _Plan:
    hit = _PLANS.get(id(cfg))
    if hit is not None and hit[0] is cfg:
        return hit[1]
    delay_d = cfg.fraud_risk_delay_s // 86400
    plan = _Plan(
        bucket_us=int(cfg.merchant_bucket_s * US_PER_S),
        per_day=cfg.buckets_per_day,
        lag=cfg.lag_buckets,
        windows=tuple(cfg.merchant_windows_s),
        shares=tuple(cfg.fraud_share_windows_s),
        risks=tuple((delay_d + w // 86400, delay_d) for w in cfg.fraud_risk_windows_s),
        keep_hours=cfg.buckets_per_day + 1 + cfg.lag_buckets,
        keep_days=cfg.merchant_days + 1,
        merchant_days=cfg.merchant_days,
        max_labels=cfg.max_merchant_labels,
        label_delay_us=None if cfg.label_delay_s is None else int(cfg.label_delay_s * US_PER_S),
    )
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[id(cfg)] = (cfg, plan)
    return plan


class _Buckets:
    """Sorted (bucket, count, amount) records with the block code's running sums."""

    __slots__ = ("blob", "cum_a", "cum_n", "keys", "rows")

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.rows = rows = list(BUCKET.iter_unpack(blob))
        self.keys = [r[0] for r in rows]
        self.cum_n = [0.0, *accumulate([r[1] for r in rows])]
        self.cum_a = [0.0, *accumulate([r[2] for r in rows])]

    def range(self, a: int, b: int) -> tuple[float, float]:
        """Count and amount in buckets ``[a, b)``, as ``merchant._RangeSum`` computes them."""
        i, j = bisect_left(self.keys, a), bisect_left(self.keys, b)
        return self.cum_n[j] - self.cum_n[i], self.cum_a[j] - self.cum_a[i]

    def add(self, key: int, amount: float, keep_last: int) -> tuple[bytes, int]:
        """Bytes and count after adding one row to bucket ``key``, keeping the last ``keep_last`` periods."""
        size, keys, blob = BUCKET.size, self.keys, self.blob
        pos = bisect_left(keys, key)
        if pos < len(keys) and keys[pos] == key:
            _, n, a = self.rows[pos]
            blob = blob[: pos * size] + BUCKET.pack(key, n + 1.0, a + (0.0 + amount)) + blob[(pos + 1) * size :]
        else:
            blob = blob[: pos * size] + BUCKET.pack(key, 1.0, 0.0 + amount) + blob[pos * size :]
            keys = [*keys[:pos], key, *keys[pos:]]
        return self.trimmed(blob, keys, keep_last)

    @staticmethod
    def trimmed(blob: bytes, keys: list[int], keep_last: int) -> tuple[bytes, int]:
        """The buckets after ``keys[-1] - keep_last`` (``merchant._combine_buckets``'s trim)."""
        if not keys:
            return b"", 0
        start = bisect_right(keys, keys[-1] - keep_last)
        return blob[start * BUCKET.size :], len(keys) - start


def _split(value: bytes | None) -> tuple[bytes, bytes, bytes]:
    """Hourly, daily and label bytes of a merchant's state (checked as ``decode_merchants`` does)."""
    if not value:
        return b"", b"", b""
    try:
        nh, nd, nl = HEADER.unpack_from(value)
    except struct.error as e:
        raise StateStoreError(f"merchant state is not readable: {e}") from e
    a = HEADER.size + nh * BUCKET.size
    b = a + nd * BUCKET.size
    if len(value) != b + nl * LABEL.size:
        raise StateStoreError("merchant state has a size that does not match its header")
    return value[HEADER.size : a], value[a:b], value[b:]


def merchant_one(cfg: FeatureConfig, value: bytes | None, row: Row, inserted: bool) -> tuple[list[float], bytes]:
    """Merchant features of ``row`` (``names.merchant_names`` order) and the merchant's new state."""
    p = _plan(cfg)
    hourly_blob, daily_blob, label_blob = _split(value)
    hourly, daily = _Buckets(hourly_blob), _Buckets(daily_blob)
    per_day = p.per_day
    hour = row.t_us // p.bucket_us
    hq = hour - p.lag  # windows end where the lag puts them
    dq = hq // per_day
    cache: dict[int, tuple[float, float, int]] = {}
    feats: list[float] = []
    for w in (*p.windows, *p.shares):
        if w in cache:
            continue
        if w < 86400:  # the row's own (batch) buckets are never inside its windows: they add 0.0
            start = hq - w // cfg.merchant_bucket_s
            n1, a1 = hourly.range(start, hq)
            cache[w] = (n1 + 0.0, a1 + 0.0, start)
        else:
            first = (dq - w // 86400) * per_day
            n1, a1 = hourly.range(dq * per_day, hq)
            n3, a3 = daily.range(dq - w // 86400, dq)
            cache[w] = (n1 + 0.0 + n3 + 0.0, a1 + 0.0 + a3 + 0.0, first)
    for w in p.windows:
        feats += cache[w][:2]
    known = [(eh, n) for eh, kh, n in LABEL.iter_unpack(label_blob) if kh < hq] if label_blob else []
    for w in p.shares:
        total, _, first = cache[w]
        frauds = 0.0
        for eh, n in known:
            if first <= eh < hq:
                frauds += n
        feats += [npmin(frauds / npmax(total, 1.0), 1.0) if total > 0 else 0.0, frauds]
    for back, end in p.risks:
        a, b = dq - back, dq - end
        total = daily.range(a, b)[0] + 0.0
        frauds = 0.0
        for eh, n in known:
            if a * per_day <= eh < b * per_day:
                frauds += n
        feats += [npmin(frauds / npmax(total, 1.0), 1.0) if total > 0 else 0.0, frauds]
    if cfg.merchant_streak:
        feats += streak_one(cfg, daily, known, dq)

    if inserted:
        h_blob, nh = hourly.add(hour, row.amount, p.keep_hours)
        d_blob, nd = daily.add(hour // per_day, row.amount, p.keep_days)
    else:
        h_blob, nh = _Buckets.trimmed(hourly_blob, hourly.keys, p.keep_hours)
        d_blob, nd = _Buckets.trimmed(daily_blob, daily.keys, p.keep_days)
    newest_hour = BUCKET.unpack_from(h_blob, (nh - 1) * BUCKET.size)[0] if nh else None
    l_blob, nl = _labels(p, label_blob, row, inserted, newest_hour)
    return feats, HEADER.pack(nh, nd, nl) + h_blob + d_blob + l_blob


def streak_one(cfg: FeatureConfig, daily: _Buckets, known: list[tuple[int, float]], dq: int) -> list[float]:
    """``merchant_streak.streak_block`` for one row: a walk over its known days."""
    delay, span = streak_days(cfg)
    end = dq - delay
    first = end - span
    per_day = cfg.buckets_per_day
    frauds: dict[int, float] = {}
    for eh, n in known:
        d = eh // per_day
        if first <= d < end and n > 0:
            frauds[d] = frauds.get(d, 0.0) + n
    last_legit = last_fraud = first - 1
    for d in range(first, end):
        f = frauds.get(d, 0.0)
        if daily.range(d, d + 1)[0] + 0.0 > f:
            last_legit = d
        if f > 0:
            last_fraud = d
    streak, start = 0.0, -1
    for d in range(last_legit + 1, end):
        f = frauds.get(d, 0.0)
        if f > 0:
            streak += f
            start = d if start < 0 else start
    nan = float("nan")
    return [
        float(dq - last_legit) if last_legit >= first else nan,
        float(dq - last_fraud) if last_fraud >= first else nan,
        streak,
        float(dq - start) if start >= 0 else nan,
    ]


def _labels(p: _Plan, blob: bytes, row: Row, inserted: bool, newest_hour: int | None) -> tuple[bytes, int]:
    """``merchant.combine_labels`` for the stored labels plus the row's own (simulated chargeback)."""
    if not blob and not (inserted and p.label_delay_us is not None and row.is_fraud == 1):
        return b"", 0
    labels = list(LABEL.iter_unpack(blob))
    keys = [(eh, kh) for eh, kh, _ in labels]
    size = LABEL.size
    if inserted and p.label_delay_us is not None and row.is_fraud == 1:
        eh = row.t_us // p.bucket_us
        kh = max((row.t_us + p.label_delay_us) // p.bucket_us, eh)
        pos = bisect_left(keys, (eh, kh))
        if pos < len(keys) and keys[pos] == (eh, kh):
            blob = blob[: pos * size] + LABEL.pack(eh, kh, labels[pos][2] + 1.0) + blob[(pos + 1) * size :]
        else:
            blob = blob[: pos * size] + LABEL.pack(eh, kh, 1.0) + blob[pos * size :]
            keys = [*keys[:pos], (eh, kh), *keys[pos:]]
    newest = keys[-1][0] if newest_hour is None else max(keys[-1][0], newest_hour)
    horizon = (newest // p.per_day - p.merchant_days) * p.per_day
    start = max(bisect_left(keys, (horizon, -(2**63))), len(keys) - p.max_labels)
    return blob[start * size :], len(keys) - start
