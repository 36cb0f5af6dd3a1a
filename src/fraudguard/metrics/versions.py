"""Per-model-version quality on delayed labels: the champion and each challenger side by side.

Each version gets its own :class:`~fraudguard.metrics.online.OnlineMetrics` (the same
cumulative / last 1,000 / last 5 minutes views, the same late-label and replay rules),
fed with that version's ensemble score and decision threshold only. One definition of
the metrics, so champion and challenger numbers are computed identically.

The champion is fed from the prediction stream, each challenger from the shadow-score
stream; a label is applied to every version (it is about the transaction, not a model).
Labels are also remembered (bounded, oldest dropped), so a version first seen after a
label arrived (a challenger added later, or its stream read behind the labels) gets it.
At most ``max_versions`` versions are kept: the least recently fed is dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np

from fraudguard.metrics.core import ENSEMBLE, MODELS
from fraudguard.metrics.online import OnlineMetrics, PredictionBatch


class _Shadow(msgspec.Struct):
    """The fields of a challenger (shadow) score the per-version metrics need."""

    transaction_id: str
    model_version: str
    score: float
    threshold: float
    is_fraud: bool | None = None


_shadow_decoder = msgspec.json.Decoder(_Shadow)


class VersionMetrics:
    """Online metrics keyed by model version.

    Parameters
    ----------
    window_size, window_seconds, capacity
        As for :class:`OnlineMetrics` (per version).
    max_versions
        Versions kept at once (the champion and a few challengers).
    """

    def __init__(
        self,
        *,
        window_size: int = 1000,
        window_seconds: float = 300.0,
        capacity: int = 50_000,
        max_versions: int = 6,
        max_labels: int = 200_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._opts = {
            "window_size": window_size,
            "window_seconds": window_seconds,
            "capacity": capacity,
            "snapshot_every": 1 << 30,  # recomputed only by compute(): one snapshot for all versions
            "clock": clock,
        }
        self.max_versions = max_versions
        self._clock = clock
        self.trackers: OrderedDict[str, OnlineMetrics] = OrderedDict()
        self.champion: str | None = None
        self._labels: OrderedDict[str, float] = OrderedDict()
        self._max_labels = max_labels

    def _tracker(self, version: str) -> OnlineMetrics:
        tracker = self.trackers.get(version)
        if tracker is None:
            tracker = self.trackers[version] = OnlineMetrics(**self._opts)  # type: ignore[arg-type]
            while len(self.trackers) > self.max_versions:
                self.trackers.popitem(last=False)
        self.trackers.move_to_end(version)
        return tracker

    def update(
        self,
        version: str,
        ids: np.ndarray,
        scores: np.ndarray,
        threshold: np.ndarray,
        truth: np.ndarray,
        now: float | None = None,
    ) -> None:
        """Add one version's scored transactions (``truth``: 1.0, 0.0 or NaN while unknown)."""
        n = len(ids)
        if n == 0:
            return
        s = np.asarray(scores, dtype=np.float64)
        truth = np.asarray(truth, dtype=np.float64)
        if self._labels:
            known = [(k, self._labels.get(i)) for k, i in enumerate(ids)]
            hits = [(k, v) for k, v in known if v is not None]
            if hits:
                truth = truth.copy()
                truth[[k for k, _ in hits]] = [v for _, v in hits]
        batch = PredictionBatch(
            ids=np.asarray(ids, dtype=object),
            scores=np.repeat(s[:, None], len(MODELS), axis=1),
            threshold=np.asarray(threshold, dtype=np.float64),
            truth=truth,
            latency_s=np.full(n, np.nan),
        )
        self._tracker(version).update(batch, now)

    def update_grouped(
        self, versions: np.ndarray, batch: PredictionBatch, *, champion: bool, now: float | None = None
    ) -> None:
        """Split a decoded prediction batch by its ``model_version`` column (ensemble score only)."""
        versions = np.asarray(versions, dtype=object)
        for version in dict.fromkeys(versions.tolist()):
            if version is None:
                continue
            rows = versions == version
            self.update(version, batch.ids[rows], batch.scores[rows, -1], batch.threshold[rows], batch.truth[rows], now)
            if champion:
                self.champion = version

    def apply_labels(self, ids: Sequence[str], is_fraud: np.ndarray, now: float | None = None) -> None:
        """A late label corrects every version that scored the transaction (or will score it)."""
        values = np.asarray(is_fraud, dtype=np.float64)
        for tx, v in zip(ids, values.tolist(), strict=True):
            self._labels[tx] = v
            self._labels.move_to_end(tx)
        while len(self._labels) > self._max_labels:
            self._labels.popitem(last=False)
        for tracker in self.trackers.values():
            tracker.apply_labels(ids, is_fraud, now)

    def compute(self, now: float | None = None) -> dict[str, Any]:
        """``{version: {"role", "windows": {name: {transactions, labelled, tp.., precision, recall, f1, pr_auc}}}}``."""
        now = self._clock() if now is None else now
        out: dict[str, Any] = {}
        for version, tracker in self.trackers.items():
            snap = tracker.compute(now)
            out[version] = {
                "role": "champion" if version == self.champion else "challenger",
                "windows": {
                    name: {"transactions": w["transactions"], "labelled": w["labelled"], **w["models"][ENSEMBLE]}
                    for name, w in snap["windows"].items()
                },
            }
        return out

    def feed_shadow(self, payloads: Sequence[bytes]) -> int:
        """Feed shadow-score messages (the challenger topic), grouped by version; return how many were bad."""
        good: list[_Shadow] = []
        for p in payloads:
            try:
                good.append(_shadow_decoder.decode(p))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        by_version: dict[str, list[_Shadow]] = {}
        for g in good:
            by_version.setdefault(g.model_version, []).append(g)
        for version, rows in by_version.items():
            self.update(
                version,
                np.array([r.transaction_id for r in rows], dtype=object),
                np.array([r.score for r in rows], dtype=np.float64),
                np.array([r.threshold for r in rows], dtype=np.float64),
                np.array([np.nan if r.is_fraud is None else float(r.is_fraud) for r in rows], dtype=np.float64),
            )
        return len(payloads) - len(good)
