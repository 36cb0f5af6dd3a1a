"""One row's card features and the card's new state bytes, in plain Python (no arrays).

The scalar twin of ``steps.card_step`` (``card.py`` + ``card_history.py``) for one row: the same
values, the same state bytes, computed without the per-call cost of NumPy and pandas
(measured: ~1 ms per row through the block code, most of it set-up, not arithmetic).

Exactness rests on doing the same floating-point operations in the same order:

* window sums are differences of running sums, as the block code computes them
  (``cum[hi] - cum[lo]``, with ``cum`` the prefix sums over the card's kept events or
  day buckets in their stored order), not direct sums;
* means and variances are sequential sums from 0.0 (what ``np.bincount`` does);
* ``np.maximum`` semantics (NaN wins, the second operand on ties) via :func:`npmax`;
* transcendental functions go through NumPy's own scalar loops (``np.log1p``, ...):
  NumPy's SIMD ``exp`` and ``log1p`` differ from the C library in the last bit for
  about one value in five, so ``math`` would not do.

Stored events and day buckets keep their bytes: the new state is cut from the old bytes
plus the packed new row, so untouched records are copied, never re-encoded.
"""

from __future__ import annotations

import struct
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from fraudguard.errors import StateStoreError
from fraudguard.features.card_history import LOG_STD_FLOOR, US_PER_DAY
from fraudguard.features.config import FeatureConfig
from fraudguard.features.state import CARD_DTYPE, DAY_DTYPE, NO_FIRST
from fraudguard.features.stateless import EARTH_RADIUS_KM, US_PER_S

HEADER = struct.Struct("<IIq")
EVENT = struct.Struct("<qdQQffb")
DAY = struct.Struct("<iIIdddd")
NAN = float("nan")
INT64_MIN = -(2**63)
assert EVENT.size == CARD_DTYPE.itemsize and DAY.size == DAY_DTYPE.itemsize


class Row(NamedTuple):
    """One transaction as the feature code reads it (the one-row :class:`~stateless.Prepared`)."""

    card_id: str
    merchant_id: str
    t_us: int
    amount: float
    merchant_hash: int
    category: int
    device_hash: int
    merchant_lat: float
    """Rounded to float32, as card state stores it."""
    merchant_lon: float
    customer_lat: float
    customer_lon: float
    channel: object
    card_present: bool
    is_fraud: float


def npmax(a: float, b: float) -> float:
    """``np.maximum`` of two floats: NaN propagates, ties give ``b``."""
    return a if a > b or a != a else b


def npmin(a: float, b: float) -> float:
    """``np.minimum`` of two floats."""
    return a if a < b or a != a else b


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`stateless.haversine_km` of one pair, through the same NumPy loops."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    s1 = np.sin((p2 - p1) / 2)
    s2 = np.sin(np.radians(lon2 - lon1) / 2)
    a = float(s1 * s1 + np.cos(p1) * np.cos(p2) * (s2 * s2))
    if a == a:
        a = min(max(a, 0.0), 1.0)
    return float(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)))


def log_amount(amount: float) -> float:
    """:func:`card_history.log_amount` of one amount."""
    return float(np.log1p(npmax(amount, 0.0)))


def _unpack(value: bytes | None) -> tuple[int, int, int]:
    """(events, days, first) of a card's state; checks the size as ``decode_cards`` does."""
    if not value:
        return 0, 0, NO_FIRST
    try:
        ne, nd, first = HEADER.unpack_from(value)
    except struct.error as e:
        raise StateStoreError(f"card state is not readable: {e}") from e
    if len(value) != HEADER.size + ne * EVENT.size + nd * DAY.size:
        raise StateStoreError("card state has a size that does not match its header")
    return ne, nd, first


def card_one(cfg: FeatureConfig, value: bytes | None, row: Row, fraud: bool) -> tuple[list[float], bool, bool, bytes]:
    """Card features of ``row`` (``names.card_names`` order), whether it entered state, whether
    it was late (older than the card's latest event), and the card's new state bytes."""
    ne, nd, first = _unpack(value)
    v = value or b""
    t, ev, cap = row.t_us, EVENT.size, cfg.max_card_entries
    ttl_us = int(cfg.card_ttl_s * US_PER_S)
    events = list(EVENT.iter_unpack(v[HEADER.size : HEADER.size + ne * ev]))
    smax_all = events[-1][0] if events else INT64_MIN
    skip = 0
    while skip < len(events) and events[skip][0] < t - ttl_us:  # older than every window
        skip += 1
    events = events[skip:]
    times = [e[0] for e in events]
    smax = times[-1] if times else INT64_MIN
    inserted = not times or not t < smax - int(cfg.allowed_lateness_s * US_PER_S)
    hi = bisect_right(times, t)
    cum = [0.0, *accumulate(e[1] for e in events[:hi])]
    feats: list[float] = []
    top = max(cfg.card_windows_s)
    lo_max = hi
    for w in cfg.card_windows_s:
        lo = max(bisect_left(times, t - int(w * US_PER_S)), hi - cap)
        feats += [float(hi - lo), cum[hi] - cum[lo]]
        if w == top:
            lo_max = lo
    lo_h = max(bisect_left(times, t - ttl_us), hi - cap)
    if hi > lo_h:
        prev = events[hi - 1]
        dt = (t - prev[0]) / US_PER_S
        km = haversine(prev[4], prev[5], row.merchant_lat, row.merchant_lon)
    else:
        dt = km = NAN
    feats += [dt, km, km / (npmax(dt, cfg.min_speed_interval_s) / 3600.0)]
    past = events[lo_h:hi]
    n_hist = float(hi - lo_h)
    s = 0.0
    for e in past:
        s += e[1]
    mean = s / npmax(n_hist, 1.0)
    var = 0.0
    for e in past:
        d = e[1] - mean
        var += d * d
    std = npmax(float(np.sqrt(var / npmax(n_hist - 1.0, 1.0))), cfg.zscore_std_floor)
    feats.append((row.amount - mean) / std if n_hist >= 2 else NAN)
    feats.append(float(any(e[2] == row.merchant_hash for e in past)))
    feats.append(float(any(e[6] == row.category for e in past)))
    feats.append(NAN if row.device_hash == 0 else float(any(e[3] == row.device_hash for e in past)))
    feats.append(float(len({e[2] for e in events[lo_max:hi]})))

    # New event list: the kept events with the row at its place, the last `cap` within the TTL.
    mine = EVENT.pack(
        t, row.amount, row.merchant_hash, row.device_hash, row.merchant_lat, row.merchant_lon, row.category
    )
    merged_t = [*times[:hi], t, *times[hi:]] if inserted else times
    newest = merged_t[-1]
    start = max(len(merged_t) - cap, bisect_left(merged_t, newest - ttl_us))
    raw = v[HEADER.size + skip * ev : HEADER.size + ne * ev]
    if not inserted:
        kept = raw[start * ev :]
    elif start <= hi:
        kept = raw[start * ev : hi * ev] + mine + raw[hi * ev :]
    else:  # the row itself is cut (only when it is older than the last `cap` events)
        kept = raw[(start - 1) * ev :]
    new_events = len(kept) // ev

    hist, days_blob, n_days, new_first = _history(cfg, v[HEADER.size + ne * ev :], nd, first, row, fraud, inserted)
    feats += hist
    state = HEADER.pack(new_events, n_days, new_first) + kept + days_blob
    return feats, inserted, inserted and t < smax_all, state


def _history(
    cfg: FeatureConfig, blob: bytes, nd: int, first: int, row: Row, fraud: bool, inserted: bool
) -> tuple[list[float], bytes, int, int]:
    """``card_history.history_block`` for one row: features, new day-bucket bytes, their count, first seen."""
    if not cfg.card_history_days:
        return [], blob, nd, first
    t, amount = row.t_us, row.amount
    day = t // US_PER_DAY
    buckets = list(DAY.iter_unpack(blob))
    ds = [b[0] for b in buckets]
    hi = bisect_right(ds, day)
    below = buckets[:hi]
    cn = [0.0, *accumulate(float(b[1]) for b in below)]
    cs = [0.0, *accumulate(b[3] for b in below)]
    cq = [0.0, *accumulate(b[4] for b in below)]
    cl = [0.0, *accumulate(b[5] for b in below)]
    clq = [0.0, *accumulate(b[6] for b in below)]
    la = log_amount(amount)
    feats: list[float] = []
    tail: list[float] = []
    top = max(cfg.card_history_days)
    floor = cfg.zscore_std_floor
    for d in cfg.card_history_days:
        lo = bisect_left(ds, day - d)
        c, s, q = cn[hi] - cn[lo], cs[hi] - cs[lo], cq[hi] - cq[lo]
        c1 = npmax(c, 1.0)
        mean = s / c1 if c > 0 else NAN
        std = float(np.sqrt(npmax(q - s * s / c1, 0.0) / npmax(c - 1.0, 1.0))) if c > 1 else NAN
        feats += [c, s, mean, std, amount / npmax(mean, floor)]
        if d == top:
            lsum, lsq = cl[hi] - cl[lo], clq[hi] - clq[lo]
            tail.append((amount - mean) / npmax(std, floor) if c > 1 else NAN)
            lmean = lsum / c1
            lvar = npmax(lsq - lsum * lsum / c1, 0.0) / npmax(c - 1.0, 1.0)
            tail.append(la - lmean if c > 0 else NAN)
            tail.append((la - lmean) / npmax(float(np.sqrt(lvar)), LOG_STD_FLOOR) if c > 1 else NAN)
    feats += tail
    feats.append(NAN if first == NO_FIRST else max(t - first, 0) / US_PER_DAY)
    delay_d = -(-int(cfg.label_delay_s or 0) // 86400)
    if delay_d < top:
        cf = [0.0, *accumulate(float(b[2]) for b in below)]
        feats.append(cf[bisect_left(ds, day - delay_d)] - cf[bisect_left(ds, day - top)])
    else:
        feats.append(0.0)
    if not inserted:
        newest = ds[-1] if ds else None
        keep_from = 0 if newest is None else bisect_left(ds, newest - top)
        return feats, blob[keep_from * DAY.size :], nd - keep_from, first
    # The row's day bucket: stored values plus the row (added in that order), or a new bucket.
    pos = bisect_left(ds, day)
    if pos < len(ds) and ds[pos] == day:
        _, n, f, s, q, ls, lq = buckets[pos]
        mine = DAY.pack(day, n + 1, f + int(fraud), s + amount, q + amount * amount, ls + la, lq + la * la)
        blob = blob[: pos * DAY.size] + mine + blob[(pos + 1) * DAY.size :]
        ds_new = ds
    else:
        mine = DAY.pack(day, 1, int(fraud), 0.0 + amount, 0.0 + amount * amount, 0.0 + la, 0.0 + la * la)
        blob = blob[: pos * DAY.size] + mine + blob[pos * DAY.size :]
        ds_new = [*ds[:pos], day, *ds[pos:]]
    keep_from = bisect_left(ds_new, ds_new[-1] - top)
    return feats, blob[keep_from * DAY.size :], len(ds_new) - keep_from, min(first, t)
