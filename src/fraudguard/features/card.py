"""Per-card features over the card's recent events, computed for a whole block at once.

A block is a set of batch rows in which no card goes back in time after an earlier row of
the same card (the pipeline cuts batches into such blocks, see ``segments.py``). Then
"events strictly before row i" is, for every row, a contiguous run in one array sorted by
(card, event time, arrival): the card's stored events and the earlier rows of the block.
Window counts and sums are differences of cumulative sums between two ``searchsorted``
positions; features that need the events themselves (z-score, "seen before", distinct
merchants) expand (row, past event) pairs with ``np.repeat``. No Python loop runs per row.

Windows cover ``[t - W, t)`` and at most the last ``max_card_entries`` events, which is
what one-by-one processing with bounded state sees, so any batch size gives the same values.
The amount z-score is *windowed*: mean and sample std of the card's kept events in
``[t - card_ttl_s, t)`` (at least two needed, std floored at ``zscore_std_floor``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudguard.features.config import FeatureConfig, window_label
from fraudguard.features.state import CARD_DTYPE
from fraudguard.features.stateless import US_PER_S, Prepared, haversine_km

_KEY_LIMIT = 1 << 62
FIELDS: tuple[str, ...] = tuple(CARD_DTYPE.names or ())


Cols = dict[str, np.ndarray]
"""Card events as one array per :data:`CARD_DTYPE` field: gathers on packed records are slow."""


def batch_records(b: Prepared) -> Cols:
    """The batch rows as card-state columns (the values later stored)."""
    return {
        "t": b.t_us,
        "amount": b.amount,
        "merchant": b.merchant_hash,
        "device": b.device_hash,
        "lat": b.merchant_lat,
        "lon": b.merchant_lon,
        "category": b.category,
    }


def columns(records: np.ndarray) -> Cols:
    """Columns of stored card records."""
    return {f: records[f] for f in FIELDS}


def records(cols: Cols) -> np.ndarray:
    """Packed card records from columns (for storage)."""
    out = np.empty(len(cols["t"]), CARD_DTYPE)
    for f in FIELDS:
        out[f] = cols[f]
    return out


def _take(cols: Cols, idx: np.ndarray | slice) -> Cols:
    return {f: v[idx] for f, v in cols.items()}


def last_times(state: Cols, counts: np.ndarray) -> np.ndarray:
    """Latest stored event time per card (int64 minimum for cards without state)."""
    out = np.full(len(counts), np.iinfo(np.int64).min, np.int64)
    has = counts > 0
    out[has] = state["t"][np.cumsum(counts)[has] - 1]
    return out


def card_block(
    rows: Cols, codes: np.ndarray, state: Cols, counts: np.ndarray, cfg: FeatureConfig
) -> tuple[dict[str, np.ndarray], np.ndarray, Cols, np.ndarray]:
    """Features of ``rows`` (card-state records, arrival order) against stored ``state``.

    ``codes[i]`` is the card index of row i; ``state`` holds the stored events of card 0,
    then card 1, ... (``counts`` per card, each sorted by time). Returns the features, a
    mask of rows inserted into state (False: later than the allowed lateness), and the
    new state as (events, counts per card), trimmed to the TTL and entry bounds.
    """
    ttl_us = int(cfg.card_ttl_s * US_PER_S)
    # Events older than every window of every row can go now: they would be trimmed anyway.
    base = int(rows["t"].min()) - ttl_us if len(rows["t"]) else 0
    if len(state["t"]):
        keep = state["t"] >= base
        if not keep.all():
            counts = np.bincount(np.repeat(np.arange(len(counts)), counts)[keep], minlength=len(counts))
            state = _take(state, keep)
    n_rows = len(rows["t"])
    span = max(int(rows["t"].max()) if n_rows else 0, int(state["t"].max()) if len(state["t"]) else 0) - base + 1
    per_pass = max(1, _KEY_LIMIT // (2 * span))
    if len(counts) <= per_pass:
        return _exact(rows, codes, state, counts, cfg, base, span)
    # Composite keys would overflow int64: cards are independent, so split them.
    feats: dict[str, np.ndarray] = {}
    inserted = np.empty(n_rows, bool)
    new_parts: list[Cols] = []
    new_counts = []
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for c0 in range(0, len(counts), per_pass):
        c1 = min(c0 + per_pass, len(counts))
        sel = np.flatnonzero((codes >= c0) & (codes < c1))
        part = _take(state, slice(offsets[c0], offsets[c1]))
        f, ins, ns, nc = _exact(_take(rows, sel), codes[sel] - c0, part, counts[c0:c1], cfg, base, span)
        for k, v in f.items():
            feats.setdefault(k, np.empty(n_rows))[sel] = v
        inserted[sel] = ins
        new_parts.append(ns)
        new_counts.append(nc)
    merged = {f: np.concatenate([p[f] for p in new_parts]) for f in FIELDS}
    return feats, inserted, merged, np.concatenate(new_counts)


def _pairs(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, event index) for every event index in ``[lo[row], hi[row])``."""
    lengths = hi - lo
    rows = np.repeat(np.arange(len(lo)), lengths)
    starts = np.cumsum(lengths) - lengths
    idx = np.arange(int(lengths.sum())) - np.repeat(starts - lo, lengths)
    return rows, idx


def _exact(
    rows: Cols, codes: np.ndarray, state: Cols, counts: np.ndarray, cfg: FeatureConfig, base: int, span: int
) -> tuple[dict[str, np.ndarray], np.ndarray, Cols, np.ndarray]:
    n, k, cap, n_state = len(rows["t"]), len(counts), cfg.max_card_entries, len(state["t"])
    smax = last_times(state, counts)
    late_us = int(cfg.allowed_lateness_s * US_PER_S)
    inserted = ~(rows["t"] < smax[codes] - late_us) | (smax[codes] == np.iinfo(np.int64).min)

    state_codes = np.repeat(np.arange(k), counts)
    all_t = np.concatenate([state["t"], rows["t"][inserted]])
    all_codes = np.concatenate([state_codes, codes[inserted]])
    # key = ((card, time) composite) * 2 + from_batch: stored events sort before batch rows
    # at equal time; the stable sort keeps batch rows in arrival order.
    keys = (all_codes * span + (all_t - base)) * 2
    keys[n_state:] += 1
    order = np.argsort(keys, kind="stable")
    ekeys, ecodes, et = keys[order], all_codes[order], all_t[order]

    merged: Cols = {"t": all_t}

    def gather(field: str, idx: np.ndarray) -> np.ndarray:
        """``field`` of sorted events ``idx`` (each column concatenated once, on demand)."""
        if field not in merged:
            merged[field] = np.concatenate([state[field], rows[field][inserted]])
        return merged[field][order[idx]]

    # Queries in (card, time) order: searchsorted is much faster on sorted needles.
    qkey = codes * span + (rows["t"] - base)
    qorder = np.argsort(qkey, kind="stable")
    qsorted = qkey[qorder]

    def search(offset_us: int, plus: int) -> np.ndarray:
        out = np.empty(n, np.int64)
        out[qorder] = np.searchsorted(ekeys, (qsorted - offset_us) * 2 + plus, "left")
        return out

    hi = np.empty(n, np.int64)
    pos = np.empty(len(order), np.int64)
    pos[order] = np.arange(len(order))
    hi[inserted] = pos[n_state:]
    # A row too late to insert sees the stored events up to its time (ties included).
    late = ~inserted
    if late.any():
        hi[late] = search(0, 1)[late]

    def lower(window_us: int) -> np.ndarray:
        return np.maximum(search(window_us, 0), hi - cap)

    feats: dict[str, np.ndarray] = {}
    cum_amount = np.concatenate([[0.0], np.cumsum(gather("amount", np.arange(len(order))))])
    lo_max = hi
    for w in cfg.card_windows_s:
        lo = lower(int(w * US_PER_S))
        label = window_label(w)
        feats[f"card_count_{label}"] = (hi - lo).astype(np.float64)
        feats[f"card_amount_{label}"] = cum_amount[hi] - cum_amount[lo]
        if w == max(cfg.card_windows_s):
            lo_max = lo

    lo_h = lower(int(cfg.card_ttl_s * US_PER_S))
    has_prev = hi > lo_h
    prev = np.where(has_prev, hi - 1, 0)
    nan = np.full(n, np.nan)
    n_ev = len(et)
    dt_s = np.where(has_prev, (rows["t"] - et[prev]) / US_PER_S, np.nan) if n_ev else nan
    km = (
        np.where(has_prev, haversine_km(gather("lat", prev), gather("lon", prev), rows["lat"], rows["lon"]), np.nan)
        if n_ev
        else nan
    )
    feats["card_secs_since_prev"] = dt_s
    feats["card_km_from_prev"] = km
    feats["card_speed_kmh"] = km / (np.maximum(dt_s, cfg.min_speed_interval_s) / 3600.0)

    prow, pidx = _pairs(lo_h, hi)
    past = {f: gather(f, pidx) for f in ("amount", "merchant", "category", "device")}
    n_hist = (hi - lo_h).astype(np.float64)
    mean = np.bincount(prow, past["amount"], n) / np.maximum(n_hist, 1)
    dev = past["amount"] - mean[prow]
    var = np.bincount(prow, dev * dev, n) / np.maximum(n_hist - 1, 1)
    std = np.maximum(np.sqrt(var), cfg.zscore_std_floor)
    feats["card_amount_zscore"] = np.where(n_hist >= 2, (rows["amount"] - mean) / std, np.nan)

    def seen(field: str) -> np.ndarray:
        match = past[field] == rows[field][prow]
        return np.bincount(prow[match], minlength=n) > 0

    feats["card_merchant_seen"] = seen("merchant").astype(np.float64)
    feats["card_category_seen"] = seen("category").astype(np.float64)
    feats["card_device_seen"] = np.where(rows["device"] == 0, np.nan, seen("device"))

    # Distinct merchants in the longest window: distinct (row, merchant) pairs, by hashing.
    in_day = pidx >= lo_max[prow]
    mcode, muniq = pd.factorize(past["merchant"][in_day])
    pair = pd.unique(prow[in_day] * max(len(muniq), 1) + mcode)
    feats[f"card_distinct_merchants_{window_label(max(cfg.card_windows_s))}"] = np.bincount(
        pair // max(len(muniq), 1), minlength=n
    ).astype(np.float64)

    # New state: per card, the last `cap` events within the TTL of its latest event.
    ends = np.cumsum(np.bincount(ecodes, minlength=k))
    from_end = ends[ecodes] - np.arange(n_ev) - 1
    newest = et[np.maximum(ends - 1, 0)] if n_ev else np.zeros(k, np.int64)
    keep = np.flatnonzero((from_end < cap) & (et >= newest[ecodes] - int(cfg.card_ttl_s * US_PER_S)))
    return feats, inserted, {f: gather(f, keep) for f in FIELDS}, np.bincount(ecodes[keep], minlength=k)
