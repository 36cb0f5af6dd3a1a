"""Population stability index (PSI) of features and scores against the training reference.

The model card holds, per feature and per score, the quantile bin edges of the training
reference and the share of reference rows in each bin (see
:mod:`fraudguard.models.drift_reference`). The stream counts its own values in the same
bins, per five-minute bucket of **event time**, so the rolling windows (last hour, last
day, ending at the newest event time seen) do not depend on batch sizes, arrival timing
or how many workers counted: bucket counts simply add.

A window alerts only when it is **full** (the stream has covered its whole length since
the first bucket seen) and holds at least ``min_count`` transactions: the first hours
after a start, with card and merchant windows still filling, are not a day of data.
An engine whose feature state started empty says so (``cold_from``: its first event time);
then a window is full only when it also starts at least the card's ``warmup_s`` after that
(how much history the reference rows had, see :mod:`fraudguard.models.drift_reference`), at
most the longest drift window (a day): before, its card and merchant windows are emptier than
training's by construction, not by drift. Windows longer than a day (7 and 30 days) may still
read low after that day; waiting for them would blind the monitor for weeks after every cold
start. An engine started on warm state (Redis) sends no ``cold_from`` and waits for nothing.

``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over bins, with shares floored at ``EPS``
so an empty bin gives a large but finite value. Common reading: < 0.1 stable, 0.1-0.2
moderate shift, > 0.2 significant shift (the alert threshold here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fraudguard.models.card import ModelCard

EPS = 1e-4
ALERT_PSI = 0.2
WINDOWS: dict[str, int] = {"last_1h": 3600, "last_1d": 86400}
BUCKET_S = 300
"""Five-minute buckets: window edges are exact to 5 minutes, and a batch of a replayed, sparse
history touches few buckets (the cost of counting and the message size grow with them)."""


def psi(expected: np.ndarray, actual_counts: np.ndarray, eps: float = EPS) -> float | None:
    """PSI of observed bin counts against the reference shares (``None`` without observations)."""
    counts = np.asarray(actual_counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    a = np.maximum(counts / total, eps)
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def bin_index(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin of each value for inner ``edges`` (``len(edges) + 1`` bins; NaN goes to its own last bin).

    A value equal to an edge goes to the bin above it, as ``np.searchsorted(side="right")``.
    """
    v = np.asarray(values, dtype=np.float64)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), v, side="right")
    idx[np.isnan(v)] = len(edges) + 1
    return idx


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts over ``len(edges) + 2`` bins: the quantile bins, then a NaN bin."""
    return np.bincount(bin_index(edges, values), minlength=len(edges) + 2)


@dataclass(frozen=True)
class Reference:
    """One variable's reference: inner bin edges and the reference share of each bin (NaN bin last)."""

    name: str
    kind: str
    """``feature`` or ``score``."""
    edges: np.ndarray
    shares: np.ndarray

    @classmethod
    def from_dict(cls, name: str, kind: str, data: Mapping[str, Any]) -> Reference:
        edges = np.asarray(data["edges"], dtype=np.float64)
        shares = np.asarray(data["shares"], dtype=np.float64)
        if shares.shape != (len(edges) + 2,):
            raise ValueError(f"drift reference of {name!r}: {len(shares)} shares for {len(edges)} edges")
        return cls(name, kind, edges, shares)


def warmup_from_card(card: ModelCard | Mapping[str, Any] | None) -> float:
    """The card's ``drift_reference.warmup_s`` (0 for a card written before it existed)."""
    ref = card.drift() if isinstance(card, ModelCard) else (card or {}).get("drift_reference") or {}
    return float(ref.get("warmup_s") or 0.0)


def references_from_card(card: ModelCard | Mapping[str, Any] | None) -> tuple[list[Reference], list[str]]:
    """The card's references (features, then scores) and its top features; empty when absent."""
    ref = card.drift() if isinstance(card, ModelCard) else (card or {}).get("drift_reference") or {}
    out = [Reference.from_dict(n, "feature", d) for n, d in (ref.get("features") or {}).items()]
    out += [Reference.from_dict(n, "score", d) for n, d in (ref.get("scores") or {}).items()]
    return out, list(ref.get("top_features") or [])


def batch_counts(
    references: list[Reference], columns: Mapping[str, np.ndarray], event_seconds: np.ndarray, bucket_s: int = BUCKET_S
) -> dict[int, dict[str, list[int]]]:
    """Per event-time bucket, the bin counts of every referenced variable present in ``columns``.

    One ``searchsorted`` and one ``bincount`` per variable for the whole batch (bucket and
    bin combined into one index), not one per (bucket, variable).
    """
    buckets = (np.asarray(event_seconds, dtype=np.float64) // bucket_s).astype(np.int64)
    starts, inverse = np.unique(buckets, return_inverse=True)
    out: dict[int, dict[str, list[int]]] = {int(b) * bucket_s: {} for b in starts.tolist()}
    keys = list(out)
    for r in references:
        if r.name not in columns:
            continue
        width = len(r.edges) + 2
        flat = inverse * width + bin_index(r.edges, columns[r.name])
        counts = np.bincount(flat, minlength=len(keys) * width).reshape(len(keys), width).tolist()
        for key, row in zip(keys, counts, strict=True):
            out[key][r.name] = row
    return out


class DriftMonitor:
    """Adds bucket counts and computes PSI over rolling event-time windows.

    Parameters
    ----------
    references, top_features
        From :func:`references_from_card`; an alert considers scores and ``top_features``.
    windows
        Window name -> seconds, ending at the newest event time seen.
    min_count
        A window with fewer transactions reports PSI but never alerts (too few to judge).
    warmup_s
        After :meth:`cold_start`, a window that starts less than this long (at most the
        longest window) after the cold engine's first event never alerts.
    """

    def __init__(
        self,
        references: list[Reference],
        top_features: list[str],
        *,
        windows: Mapping[str, int] | None = None,
        min_count: int = 500,
        alert_psi: float = ALERT_PSI,
        warmup_s: float = 0.0,
    ) -> None:
        self.refs = {r.name: r for r in references}
        self.windows = dict(windows or WINDOWS)
        self.warmup_s = min(float(warmup_s), float(max(self.windows.values())))
        self.cold_from: float | None = None
        self.top = [n for n in top_features if n in self.refs][:10]
        self.min_count, self.alert_psi = min_count, alert_psi
        self.buckets: dict[int, dict[str, np.ndarray]] = {}
        self.latest_bucket: int | None = None
        self.first_bucket: int | None = None

    def add(self, counts: Mapping[int, Mapping[str, list[int]]]) -> None:
        """Add :func:`batch_counts` output (from any worker, in any order)."""
        for start, per_var in counts.items():
            bucket = self.buckets.setdefault(int(start), {})
            for name, c in per_var.items():
                ref = self.refs.get(name)
                if ref is None or len(c) != len(ref.shares):
                    continue  # a variable of another model version: not comparable
                arr = np.asarray(c, dtype=np.int64)
                bucket[name] = bucket[name] + arr if name in bucket else arr
            self.latest_bucket = max(self.latest_bucket or int(start), int(start))
            self.first_bucket = min(self.first_bucket if self.first_bucket is not None else int(start), int(start))
        if self.latest_bucket is not None:
            horizon = self.latest_bucket - max(self.windows.values())
            for start in [s for s in self.buckets if s <= horizon]:
                del self.buckets[start]

    def cold_start(self, first_event_s: float) -> None:
        """An engine started from empty state at this event time (the latest such start counts)."""
        self.cold_from = first_event_s if self.cold_from is None else max(self.cold_from, first_event_s)

    def _window_counts(self, seconds: int) -> dict[str, np.ndarray]:
        assert self.latest_bucket is not None
        since = self.latest_bucket - seconds
        total: dict[str, np.ndarray] = {}
        for start, per_var in self.buckets.items():
            if start > since:
                for name, arr in per_var.items():
                    total[name] = total[name] + arr if name in total else arr.copy()
        return total

    def compute(self) -> dict[str, Any]:
        """``{"windows": {name: {"transactions", "psi": [rows, largest first]}}, "alert", "reasons"}``."""
        out: dict[str, Any] = {"windows": {}, "alert": False, "reasons": [], "top_features": self.top}
        if self.latest_bucket is None:
            return out
        assert self.first_bucket is not None
        out["warm_from"] = (
            self.first_bucket if self.cold_from is None else max(self.first_bucket, self.cold_from + self.warmup_s)
        )
        out["warming_up"] = self.latest_bucket + BUCKET_S < out["warm_from"] + min(self.windows.values())
        for wname, seconds in self.windows.items():
            counts = self._window_counts(seconds)
            rows: list[dict[str, Any]] = [
                {"name": name, "kind": self.refs[name].kind, "psi": psi(self.refs[name].shares, c)}
                for name, c in counts.items()
            ]
            rows.sort(key=lambda r: -1.0 if r["psi"] is None else r["psi"], reverse=True)
            n = max((int(c.sum()) for c in counts.values()), default=0)
            full = self.latest_bucket + BUCKET_S - seconds >= out["warm_from"]
            out["windows"][wname] = {"transactions": n, "full": full, "psi": rows}
            if n < self.min_count or not full:
                continue
            for r in rows:
                watched = r["kind"] == "score" or r["name"] in self.top
                if watched and r["psi"] is not None and r["psi"] > self.alert_psi:
                    out["alert"] = True
                    out["reasons"].append(f"{r['kind']} {r['name']}: PSI {r['psi']:.3f} > {self.alert_psi} ({wname})")
        return out
