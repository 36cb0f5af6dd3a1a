"""The Kafka side of live metrics: a background reader of ``predictions``, ``labels`` and ``fraud_alerts``.

:class:`MetricsTracker` reads every partition with ``assign()`` (each API process must see
every prediction, and Tansu caps group reads near 8.5k msg/s, see docs/machine-notes.md), decodes
batches, feeds :class:`~fraudguard.metrics.online.OnlineMetrics` and hands the raw
messages to optional callbacks (the API's WebSocket hub). Consumer lag is the high
watermark seen in fetch responses minus the next offset to read, because Tansu's
ListOffsets answer is wrong.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import numpy as np
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, TopicPartition

from fraudguard.io.kafka import make_consumer
from fraudguard.metrics.core import MODELS
from fraudguard.metrics.drift_feed import DriftFeed
from fraudguard.metrics.online import OnlineMetrics, PredictionBatch
from fraudguard.metrics.versions import VersionMetrics
from fraudguard.schema import Label

log = logging.getLogger(__name__)

Callback = Callable[[list[tuple[bytes, int]]], None]
"""Receives ``(value, broker timestamp ms)`` pairs of one fetched batch."""


class _Scored(msgspec.Struct):
    """The fields of a prediction message the metrics need (the rest is skipped by msgspec)."""

    transaction_id: str
    scores: dict[str, float]
    ensemble_score: float
    threshold: float
    is_fraud: bool | None = None
    produced_at: datetime | None = None
    scored_at: datetime | None = None
    model_version: str | None = None


_pred_decoder = msgspec.json.Decoder(_Scored)
_label_decoder = msgspec.json.Decoder(Label)


def decode_predictions(payloads: Sequence[bytes]) -> tuple[PredictionBatch, int]:
    """Columns of the decodable prediction messages, and how many were not decodable."""
    good: list[_Scored] = []
    for p in payloads:
        try:
            good.append(_pred_decoder.decode(p))
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
    n = len(good)
    nan = float("nan")
    scores = np.array(
        [[g.scores.get(m, nan) for m in MODELS[:-1]] + [g.ensemble_score] for g in good], dtype=np.float64
    )
    produced = np.fromiter((g.produced_at.timestamp() if g.produced_at else nan for g in good), np.float64, n)
    scored = np.fromiter((g.scored_at.timestamp() if g.scored_at else nan for g in good), np.float64, n)
    batch = PredictionBatch(
        ids=np.array([g.transaction_id for g in good], dtype=object),
        scores=scores.reshape(n, len(MODELS)),
        threshold=np.fromiter((g.threshold for g in good), np.float64, n),
        truth=np.fromiter((nan if g.is_fraud is None else float(g.is_fraud) for g in good), np.float64, n),
        latency_s=scored - produced,
        versions=np.array([g.model_version for g in good], dtype=object),
    )
    return batch, len(payloads) - n


def decode_labels(payloads: Sequence[bytes]) -> list[Label]:
    """The decodable label messages (others are skipped: labels are advisory for metrics)."""
    out: list[Label] = []
    for p in payloads:
        try:
            out.append(_label_decoder.decode(p))
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
    return out


class MetricsTracker:
    """Background thread: topics in, :class:`OnlineMetrics` updated, callbacks called.

    Parameters
    ----------
    bootstrap
        Kafka bootstrap servers.
    metrics
        The pure metrics object this thread updates (only this thread writes it).
    predictions_topic, labels_topic, alerts_topic
        Topics to read; ``alerts_topic`` only feeds ``on_alerts`` (``None``: not read).
    from_beginning
        Start at the earliest offsets (cumulative metrics over the topic's history) or at
        the end (only what arrives from now on).
    refresh_s
        How often the snapshot is recomputed even without new data, so time windows age.
    """

    def __init__(
        self,
        bootstrap: str,
        metrics: OnlineMetrics,
        *,
        predictions_topic: str = "predictions",
        labels_topic: str = "labels",
        alerts_topic: str | None = None,
        from_beginning: bool = True,
        on_predictions: Callback | None = None,
        on_alerts: Callback | None = None,
        on_snapshot: Callable[[dict[str, Any]], None] | None = None,
        refresh_s: float = 1.0,
        max_batch: int = 5000,
        versions: VersionMetrics | None = None,
        challengers_topic: str | None = None,
        drift: DriftFeed | None = None,
        drift_topic: str | None = None,
    ) -> None:
        self.bootstrap, self.metrics = bootstrap, metrics
        self.versions = versions
        """Per-version metrics (champion from predictions, challengers from ``challengers_topic``)."""
        self.topics = {"predictions": predictions_topic, "labels": labels_topic}
        if alerts_topic:
            self.topics["alerts"] = alerts_topic
        if challengers_topic and versions is not None:
            self.topics["challengers"] = challengers_topic
        self.drift = drift
        if drift_topic and drift is not None:
            self.topics["drift"] = drift_topic
        self._kind = {v: k for k, v in self.topics.items()}
        self.from_beginning, self.refresh_s, self.max_batch = from_beginning, refresh_s, max_batch
        self.on_predictions, self.on_alerts, self.on_snapshot = on_predictions, on_alerts, on_snapshot
        self.undecodable = 0
        self.lag: dict[str, int] = {}
        self._next: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._versions_latest: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name="fraudguard-metrics", daemon=True)
        self.error: BaseException | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self, wait_s: float = 10.0) -> MetricsTracker:
        """Start reading; returns once partitions are assigned (or ``wait_s`` passed)."""
        self._thread.start()
        self._ready.wait(wait_s)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and close the consumer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def snapshot(self) -> dict[str, Any]:
        """The latest metrics plus consumer lag (thread-safe copy of the references)."""
        with self._lock:
            snap = {**self.metrics.latest, "lag": dict(self.lag), "undecodable": self.undecodable}
            if self.versions is not None:
                snap["versions"] = self._versions_latest
            if self.drift is not None:
                snap["drift"] = self.drift.latest
            return snap

    # --- the loop -----------------------------------------------------------------------
    def _assign(self, consumer: Consumer) -> None:
        start = OFFSET_BEGINNING if self.from_beginning else OFFSET_END
        while not self._stop.is_set():
            try:
                md = consumer.list_topics(timeout=5.0).topics
            except KafkaException as e:
                log.warning("metrics tracker: broker metadata unavailable: %s", e)
                self._stop.wait(1.0)
                continue
            parts = [
                TopicPartition(t, p, start)
                for t in self.topics.values()
                if t in md and md[t].error is None
                for p in md[t].partitions
            ]
            if len(parts) and {p.topic for p in parts} >= {self.topics["predictions"]}:
                consumer.assign(parts)
                return
            self._stop.wait(1.0)

    def _run(self) -> None:
        consumer = make_consumer(self.bootstrap, None, **{"fetch.wait.max.ms": 20})
        try:
            self._assign(consumer)
            self._ready.set()
            last_refresh = time.monotonic()
            while not self._stop.is_set():
                msgs = consumer.consume(self.max_batch, timeout=0.2)
                if msgs:
                    self._handle(consumer, msgs)
                if time.monotonic() - last_refresh >= self.refresh_s:
                    last_refresh = time.monotonic()
                    with self._lock:
                        self.metrics.refresh()
                        if self.versions is not None:
                            self._versions_latest = self.versions.compute()
                        if self.drift is not None:
                            self.drift.refresh()
                    self._update_lag(consumer)
                    if self.on_snapshot is not None:
                        self.on_snapshot(self.snapshot())
        except BaseException as e:  # surfaced by /readyz and the CLI, never swallowed silently
            self.error = e
            log.exception("metrics tracker stopped")
        finally:
            self._ready.set()
            consumer.close()

    def _handle(self, consumer: Consumer, msgs: list[Any]) -> None:
        by_kind: dict[str, list[tuple[bytes, int]]] = {k: [] for k in self.topics}
        for m in msgs:
            if m.error() is not None or m.value() is None:
                continue
            by_kind[self._kind[m.topic()]].append((m.value(), m.timestamp()[1]))
            self._next[(m.topic(), m.partition())] = m.offset() + 1
        if by_kind["predictions"]:
            batch, bad = decode_predictions([v for v, _ in by_kind["predictions"]])
            with self._lock:
                self.undecodable += bad
                self.metrics.update(batch)
                if self.versions is not None and batch.versions is not None:
                    self.versions.update_grouped(batch.versions, batch, champion=True)
            if self.on_predictions is not None:
                self.on_predictions(by_kind["predictions"])
        if by_kind["labels"]:
            labels = decode_labels([v for v, _ in by_kind["labels"]])
            self.undecodable += len(by_kind["labels"]) - len(labels)
            with self._lock:
                ids, values = (
                    [x.transaction_id for x in labels],
                    np.array([x.is_fraud for x in labels], dtype=np.float64),
                )
                self.metrics.apply_labels(ids, values)
                if self.versions is not None:
                    self.versions.apply_labels(ids, values)
        if by_kind.get("challengers") and self.versions is not None:
            with self._lock:
                self.undecodable += self.versions.feed_shadow([v for v, _ in by_kind["challengers"]])
        if by_kind.get("drift") and self.drift is not None:
            with self._lock:
                self.drift.handle([v for v, _ in by_kind["drift"]])
        if by_kind.get("alerts") and self.on_alerts is not None:
            self.on_alerts(by_kind["alerts"])

    def _update_lag(self, consumer: Consumer) -> None:
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            try:
                _, high = consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if high is None or high < 0:
                continue
            pos = self._next.get((tp.topic, tp.partition), 0)
            kind = self._kind.get(tp.topic, tp.topic)
            lag[kind] = lag.get(kind, 0) + max(0, high - pos)
        self.lag = lag
