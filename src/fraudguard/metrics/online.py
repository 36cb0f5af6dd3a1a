"""Online per-model quality, throughput and latency over a prediction stream with late labels.

:class:`OnlineMetrics` is pure (no Kafka, no web): the tracker in
:mod:`fraudguard.io.metrics_consumer` feeds it decoded batches. Three views are kept:

* ``cumulative`` - constant memory: confusion counts plus per-model score histograms
  (PR-AUC from 1,000 bins, see :func:`~fraudguard.metrics.core.binned_average_precision`);
* ``last_1000`` - the last 1,000 predictions (by arrival), exact PR-AUC;
* ``last_5m`` - predictions that arrived in the last 5 minutes, exact PR-AUC.

Ground truth is ``is_fraud`` carried by the prediction, overridden by a later label for
the same ``transaction_id``. A label for a prediction still in the ring buffer corrects
every view at once (the old contribution is subtracted); a label that arrives before its
prediction waits in a bounded pending map. A prediction whose id is already in the ring
is a replay (at-least-once delivery) and is ignored, so nothing is counted twice.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fraudguard.metrics.core import (
    CELLS,
    MODELS,
    average_precision,
    binned_average_precision,
    confusion_counts,
    decide,
    histograms,
    percentiles,
    rates,
)


@dataclass(frozen=True)
class PredictionBatch:
    """Columns of a batch of predictions; ``scores`` is ``(n, 4)`` in :data:`MODELS` order."""

    ids: np.ndarray
    scores: np.ndarray
    threshold: np.ndarray
    truth: np.ndarray
    """1.0 fraud, 0.0 legit, NaN unknown."""
    latency_s: np.ndarray
    """``scored_at - produced_at`` in seconds, NaN when ``produced_at`` is unknown."""
    versions: np.ndarray | None = None
    """Model version of each row, when known (per-version metrics)."""

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class OnlineMetrics:
    """Cumulative and windowed confusion counts, rates, PR-AUC, throughput and latency.

    Parameters
    ----------
    thresholds
        Per base-model thresholds (model card); absent models use the row's ensemble threshold.
    window_size, window_seconds
        The count window (last N predictions) and the time window (seconds, by arrival).
    capacity
        Ring-buffer size: how many recent predictions late labels can still correct and the
        time window can see (a 5-minute window at more than ``capacity / 300`` tx/s is cut).
    snapshot_every
        :attr:`latest` is recomputed after this many new predictions or labels.
    clock
        Seconds since epoch (injectable for tests).
    """

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        window_size: int = 1000,
        window_seconds: float = 300.0,
        capacity: int = 200_000,
        bins: int = 1000,
        snapshot_every: int = 100,
        max_pending_labels: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if capacity < window_size:
            raise ValueError(f"capacity ({capacity}) must be at least window_size ({window_size})")
        self.thresholds = dict(thresholds or {})
        self.window_size, self.window_seconds = window_size, window_seconds
        self.capacity, self.bins, self.snapshot_every = capacity, bins, max(1, snapshot_every)
        self._clock = clock
        m = len(MODELS)
        self._ids = np.empty(capacity, dtype=object)
        self._scores = np.zeros((capacity, m))
        self._pred = np.zeros((capacity, m), dtype=bool)
        self._truth = np.full(capacity, np.nan)
        self._arrival = np.zeros(capacity)
        self._latency = np.full(capacity, np.nan)
        self._pos: dict[str, int] = {}
        self._pending: OrderedDict[str, float] = OrderedDict()
        self._max_pending = max_pending_labels
        self.total = 0
        self.labels_applied = 0
        self.counts = np.zeros((m, len(CELLS)), dtype=np.int64)
        self.pos_hist = np.zeros((m, bins), dtype=np.int64)
        self.neg_hist = np.zeros((m, bins), dtype=np.int64)
        self._changes = 0
        self.started_at = clock()
        self.latest: dict[str, Any] = self.compute()

    # --- updates ------------------------------------------------------------------------
    def update(self, batch: PredictionBatch, now: float | None = None) -> bool:
        """Add a batch of predictions; return whether :attr:`latest` was recomputed."""
        now = self._clock() if now is None else now
        ids = batch.ids
        _, first = np.unique(ids, return_index=True)
        fresh = np.zeros(len(ids), dtype=bool)
        fresh[first] = True
        fresh &= np.fromiter((i not in self._pos for i in ids), dtype=bool, count=len(ids))
        if not fresh.any():
            return False
        ids, scores = ids[fresh], np.asarray(batch.scores, dtype=np.float64)[fresh]
        truth = batch.truth[fresh].astype(np.float64).copy()
        if self._pending:
            for k, i in enumerate(ids):
                label = self._pending.pop(i, None)
                if label is not None:
                    truth[k] = label
        if len(ids) > self.capacity:  # keep only what fits, but count everything cumulatively
            self._add_cumulative(truth, scores, decide(scores, batch.threshold[fresh], self.thresholds))
            ids, scores, truth = ids[-self.capacity :], scores[-self.capacity :], truth[-self.capacity :]
            keep = np.flatnonzero(fresh)[-self.capacity :]
            self._store(ids, scores, batch.threshold[keep], truth, batch.latency_s[keep], now, counted=True)
        else:
            self._store(ids, scores, batch.threshold[fresh], truth, batch.latency_s[fresh], now, counted=False)
        return self._changed(len(ids), now)

    def _store(self, ids, scores, threshold, truth, latency, now, *, counted: bool) -> None:  # type: ignore[no-untyped-def]
        n = len(ids)
        slots = (self.total + np.arange(n)) % self.capacity
        if self.total >= self.capacity or self.total + n > self.capacity:
            for old in self._ids[slots]:
                if old is not None:
                    self._pos.pop(old, None)
        pred = decide(scores, threshold, self.thresholds)
        self._ids[slots], self._scores[slots], self._pred[slots] = ids, scores, pred
        self._truth[slots], self._arrival[slots], self._latency[slots] = truth, now, latency
        self._pos.update(zip(ids.tolist(), slots.tolist(), strict=True))
        self.total += n
        if not counted:
            self._add_cumulative(truth, scores, pred)

    def _add_cumulative(self, truth: np.ndarray, scores: np.ndarray, pred: np.ndarray, sign: int = 1) -> None:
        self.counts += sign * confusion_counts(truth, pred)
        pos, neg = histograms(truth, scores, self.bins)
        self.pos_hist += sign * pos
        self.neg_hist += sign * neg

    def apply_labels(self, ids: Sequence[str], is_fraud: np.ndarray, now: float | None = None) -> int:
        """Late ground truth: correct every view for predictions still held; return how many.

        Labels for unknown ids wait (bounded, oldest dropped) for their prediction.
        """
        now = self._clock() if now is None else now
        labels = dict(zip(ids, np.asarray(is_fraud, dtype=np.float64).tolist(), strict=True))
        slots, values = [], []
        for tx, value in labels.items():
            slot = self._pos.get(tx)
            if slot is None:
                self._pending[tx] = value
                self._pending.move_to_end(tx)
            else:
                slots.append(slot)
                values.append(value)
        while len(self._pending) > self._max_pending:
            self._pending.popitem(last=False)
        if slots:
            idx = np.asarray(slots)
            self._add_cumulative(self._truth[idx], self._scores[idx], self._pred[idx], sign=-1)
            self._truth[idx] = values
            self._add_cumulative(self._truth[idx], self._scores[idx], self._pred[idx])
            self.labels_applied += len(slots)
        self._changed(len(labels), now)
        return len(slots)

    def _changed(self, n: int, now: float) -> bool:
        self._changes += n
        if self._changes >= self.snapshot_every:
            self.refresh(now)
            return True
        return False

    def refresh(self, now: float | None = None) -> dict[str, Any]:
        """Recompute :attr:`latest` now (the tracker also calls it on a timer so windows age)."""
        self._changes = 0
        self.latest = self.compute(now)
        return self.latest

    # --- views --------------------------------------------------------------------------
    def _held(self) -> np.ndarray:
        """Ring slots in arrival order (oldest first)."""
        n = min(self.total, self.capacity)
        return (self.total - n + np.arange(n)) % self.capacity

    def _view(self, idx: np.ndarray, *, exact: bool = True) -> dict[str, Any]:
        truth = self._truth[idx]
        counts = confusion_counts(truth, self._pred[idx])
        out: dict[str, Any] = {"transactions": len(idx), "labelled": int((~np.isnan(truth)).sum())}
        out["models"] = {
            name: {
                **dict(zip(CELLS, counts[j].tolist(), strict=True)),
                **rates(counts[j]),
                "pr_auc": average_precision(truth, self._scores[idx, j]),
            }
            for j, name in enumerate(MODELS)
        }
        return out

    def compute(self, now: float | None = None) -> dict[str, Any]:
        """Every metric as a JSON-ready dict (what WebSockets push and Prometheus exposes)."""
        now = self._clock() if now is None else now
        held = self._held()
        recent = held[self._arrival[held] >= now - self.window_seconds]
        cumulative: dict[str, Any] = {"transactions": self.total, "labelled": int(self.counts[0].sum())}
        cumulative["models"] = {
            name: {
                **dict(zip(CELLS, self.counts[j].tolist(), strict=True)),
                **rates(self.counts[j]),
                "pr_auc": binned_average_precision(self.pos_hist[j], self.neg_hist[j]),
            }
            for j, name in enumerate(MODELS)
        }
        last10 = held[self._arrival[held] >= now - 10.0]
        span = min(10.0, max(now - self.started_at, 1e-9))
        return {
            "at": now,
            "thresholds": {m: self.thresholds.get(m) for m in MODELS[:-1]},
            "windows": {
                "cumulative": cumulative,
                f"last_{self.window_size}": self._view(held[-self.window_size :]),
                f"last_{self.window_seconds / 60:g}m": self._view(recent),
            },
            "throughput_tps": len(last10) / span,
            "latency_s": percentiles(self._latency[recent]),
            "labels_applied": self.labels_applied,
            "labels_pending": len(self._pending),
        }
