"""Cutting a batch into blocks that can be computed at once without changing any value.

One-by-one processing lets row i see exactly the rows that *arrived* before it. The block
computation sorts by event time, so inside a block a row must never go back in time
after an earlier row of the same key: otherwise a late row would become visible to rows
that arrived before it. :func:`cut_points` finds the few places where a new block must
start; in an ordered stream there are none, with late events only a handful per batch.
The loop below runs once per *late* row, not per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _previous_same_key(codes: np.ndarray) -> np.ndarray:
    """Index of the previous row with the same code (-1 for the first)."""
    order = np.argsort(codes, kind="stable")
    prev = np.full(len(codes), -1, np.int64)
    same = codes[order][1:] == codes[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    return prev


def cut_points(codes: np.ndarray, times: np.ndarray, initial_max: np.ndarray) -> list[int]:
    """Row positions where a new block starts (always including 0 when non-empty).

    Row i forces a cut when its time is before the latest time already seen for its key
    (``initial_max[code]`` from stored state, or any earlier row) *and* an earlier row of
    the same key lies in the current block.
    """
    if len(codes) == 0:
        return []
    prev = _previous_same_key(codes)
    # Ordered batch (the usual case): only stored state can make a row late.
    if (times[1:] >= times[:-1]).all() and not ((times < initial_max[codes]) & (prev >= 0)).any():
        return [0]
    seen_max = np.maximum(earlier_max(codes, times), initial_max[codes])
    start, cuts = 0, [0]
    for i in np.flatnonzero((times < seen_max) & (prev >= 0)).tolist():
        if prev[i] >= start:
            start = i
            cuts.append(i)
    return cuts


def earlier_max(codes: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per row, the latest time of an earlier row with the same code (``times.min() - 1`` if none)."""
    order = np.argsort(codes, kind="stable")
    c, t = codes[order], times[order]
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    group = np.cumsum(first) - 1
    lo = int(t.min()) - 1
    span = int(t.max()) - lo + 1
    if span * (int(group[-1]) + 1) < np.iinfo(np.int64).max // 2:
        # Offsetting each group above the previous one lets one running max serve them all.
        offset = group * span
        running = np.maximum.accumulate(t - lo + offset) - offset + lo
    else:  # a span too wide to offset (times years apart): group by group
        running = pd.Series(t).groupby(c).cummax().to_numpy()
    before = np.full(len(c), lo, np.int64)
    before[1:] = np.where(first[1:], lo, running[:-1])
    out = np.empty(len(c), np.int64)
    out[order] = before
    return out


def order_cuts(codes: np.ndarray, times: np.ndarray) -> list[int]:
    """Block starts for keys whose state is sums over time buckets (merchants).

    A row only sees its key's events at *earlier* times, so a block is exact as long as
    no row goes back in time after an earlier row of the same key in the same block.
    Rows far behind their key's state (so far that state forgets their buckets or label as
    soon as they are added) need no cut: the block code leaves those out itself
    (``merchant_forget.dropped_at_once``), and inside a block no row of a key is behind an
    earlier one. Unlike :func:`cut_points` (which cuts before any row that is behind an
    earlier one, in whatever block), a batch read from several time-ordered partitions
    one after the other is cut only where a partition starts over in time. Each cut costs
    one pass over the rows after it.
    """
    if len(codes) == 0:
        return []
    if (times[1:] >= times[:-1]).all():
        return [0]
    start, cuts = 0, [0]
    while len(codes) - start > 1:
        c, t = codes[start:], times[start:]
        back = t < earlier_max(c, t)
        first = int(np.argmax(back))
        if not back[first]:
            break
        start += first
        cuts.append(start)
    return cuts
