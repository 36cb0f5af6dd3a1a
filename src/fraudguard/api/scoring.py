"""Scoring for the API: the stream's feature pipeline and scorer, plus what a recorded call writes.

``record=True`` is the API acting as an engine for that transaction: card/merchant state is
updated, the prediction is upserted into PostgreSQL and published to ``predictions`` (and
``fraud_alerts`` when decided fraud), so metrics and WebSockets see it once.

At least once, in this order: features are computed without changing state; the
prediction is published and the call WAITS for the broker's delivery reports (up to
``publish_timeout_s``); then PostgreSQL; only then is the card/merchant state updated. If
the broker or the database fails, the caller gets 503 and no state changed (a message
the broker accepted late may still appear on the topic: at-least-once, not exactly-once). ``record=False``
is a what-if: the pipeline runs with ``update=False`` and nothing is written anywhere.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fraudguard import schema
from fraudguard.admission import DEFAULT_MAX_EXTRAS, bound_extras, known_extras
from fraudguard.api.idempotency import RecordedLog, assemble, triage
from fraudguard.api.lone import inline_ok, score_alone
from fraudguard.errors import BrokerError
from fraudguard.features.pipeline import FeaturePipeline
from fraudguard.models.scorer import Scorer
from fraudguard.records import prediction_records

log = logging.getLogger(__name__)


def what_if_rounds(groups: list[list[schema.Transaction]]) -> list[list[schema.Transaction]]:
    """Pack what-if submissions into as few pipeline passes as possible, never coupling them.

    Two submissions share a pass only when they touch no common card AND no common
    merchant: card features read the card's rows, merchant features the merchant's
    completed time buckets, so a row of one submission could otherwise become history for
    another's (it did across a bucket boundary: a what-if scored 0.031 with company and
    0.0054 alone). Features depend on nothing else, so every what-if scores exactly as
    alone. With many distinct cards and merchants (the usual case) everything is one pass.
    """
    rounds: list[tuple[list[schema.Transaction], set[str], set[str]]] = []
    for txs in groups:
        cards = {t.card_id for t in txs}
        merchants = {t.merchant_id for t in txs}
        for members, used_cards, used_merchants in rounds:
            if used_cards.isdisjoint(cards) and used_merchants.isdisjoint(merchants):
                members.extend(txs)
                used_cards |= cards
                used_merchants |= merchants
                break
        else:
            rounds.append((list(txs), cards, merchants))
    return [members for members, _, _ in rounds]


class ScoringService:
    """Scores batches of transactions; only ever called from one thread at a time (the batcher).

    Parameters
    ----------
    scorer, pipeline
        The models and the feature state (shared with the stream when the state is in Redis).
    sink
        Optional :class:`~fraudguard.io.pg_sink.PostgresSink` for recorded predictions.
    producer, predictions_topic, alerts_topic
        Optional Kafka producer for recorded predictions and alerts.
    rules
        Optional :class:`~fraudguard.io.rule_watcher.RuleWatcher`: checked at each
        micro-batch (the API's batch boundary), applied to every prediction of the batch.
    """

    def __init__(
        self,
        scorer: Scorer,
        pipeline: FeaturePipeline,
        *,
        sink: Any | None = None,
        producer: Any | None = None,
        predictions_topic: str = "predictions",
        alerts_topic: str = "fraud_alerts",
        max_extras: int = DEFAULT_MAX_EXTRAS,
        publish_timeout_s: float = 10.0,
        rules: Any | None = None,
    ) -> None:
        self.scorer, self.pipeline, self.sink, self.producer = scorer, pipeline, sink, producer
        self.rules = rules
        self.max_extras = max_extras
        self.publish_timeout_s = publish_timeout_s
        self.recorded_log = RecordedLog()
        self.extras_dropped = 0
        """Extras pairs dropped so far: over ``max_extras`` or unknown to the model (admission.py)."""
        self.predictions_topic, self.alerts_topic = predictions_topic, alerts_topic
        self._lock = threading.Lock()
        self.shadow: Any | None = None
        """Optional :class:`~fraudguard.api.shadow.ApiShadow`: challengers score recorded calls."""

    def process(
        self, groups: list[tuple[Sequence[schema.Transaction], bool]]
    ) -> list[list[schema.Prediction] | Exception]:
        """Answers for the submissions of one micro-batch: ids already recorded are not scored again.

        See :mod:`fraudguard.api.idempotency`: a recorded id re-posted with the same content
        gets its stored decision (a :class:`StoredPrediction`), with other content a 409
        (an exception in its slot, which the batcher raises to that caller only).
        """
        lookup = self._lookup if self.sink is not None and hasattr(self.sink, "stored") else None
        scored_groups, slots, errors = triage(groups, self.recorded_log, lookup)
        preds = self._score(scored_groups) if any(txs for txs, _ in scored_groups) else [[] for _ in scored_groups]
        self.recorded_log.add_many([p for (_, rec), ps in zip(scored_groups, preds, strict=True) if rec for p in ps])
        return assemble(slots, preds, errors)

    def _lookup(self, ids: list[str]) -> dict[str, schema.Prediction]:
        frame = self.sink.stored(ids)  # type: ignore[union-attr]
        return {p.transaction_id: p for p in prediction_records(frame)} if len(frame) else {}

    def _score(self, submitted: Sequence[tuple[Sequence[schema.Transaction], bool]]) -> list[list[schema.Prediction]]:
        """Score the submissions of one micro-batch with one model call.

        Recorded submissions go through the pipeline together (the same as one after the
        other), first with ``update=False``; their state is applied with ``update=True``
        only after Kafka and PostgreSQL took the predictions (module docstring). Each what-if gets its own
        ``update=False`` pass, so it sees the recorded state and its own rows, never
        another request's. Features are cheap; the model call, shared by all, is not.
        """
        groups = [(self._bound(txs), rec) for txs, rec in submitted]
        if all(len(txs) == 1 for txs, _ in groups):  # lone transactions: maybe no frame at all (lone.py)
            with self._lock:
                alone = score_alone(self, groups)
            if alone is not None:
                return alone
        frames: list[pd.DataFrame] = []
        features: list[pd.DataFrame] = []
        now = pd.Timestamp.now(tz="UTC")
        recorded = [tx for txs, rec in groups if rec for tx in txs]
        whatifs = [list(txs) for txs, rec in groups if not rec]
        with self._lock:
            parts = ([(recorded, True)] if recorded else []) + [(r, False) for r in what_if_rounds(whatifs)]
            for txs, _rec in parts:
                frame = schema.to_frame(txs)
                frames.append(frame)
                features.append(self.pipeline.transform(frame, update=False))
            feats = features[0] if len(features) == 1 else pd.concat(features, ignore_index=True)
            rules = None
            if self.rules is not None:  # the API's batch boundary: pick up changed rules
                self.rules.check()
                rules = self.rules.current if self.rules.current.rules else None
            writes = bool(recorded) and (self.sink is not None or self.producer is not None)
            if writes or rules is not None:
                frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
                frame["produced_at"] = now  # only the prediction frame reads it (setting a column costs)
                preds = self.scorer.score_frame(frame, feats)
                if rules is not None:
                    preds = rules.apply(preds, feats, frame)
                if writes:
                    self._write(preds.iloc[: len(recorded)])
                    if self.shadow is not None:
                        self.shadow(self.scorer, preds.iloc[: len(recorded)], feats.iloc[: len(recorded)])
                records = prediction_records(preds)
            else:  # nothing to write: records straight from the score arrays (no prediction frame)
                ordered = [tx for part, _ in parts for tx in part]
                records = self.scorer.prediction_list(ordered, feats, produced_at=now.to_pydatetime())
            if recorded:  # published and stored (when configured): only now apply the state
                self.pipeline.transform(frames[0], update=True)
        rec_iter = iter(records[: len(recorded)])
        whatif_rows = (tx for txs, rec in parts if not rec for tx in txs)
        by_id = {id(tx): p for tx, p in zip(whatif_rows, records[len(recorded) :], strict=True)}
        out: list[list[schema.Prediction]] = []
        for txs, rec in groups:
            out.append([next(rec_iter) for _ in txs] if rec else [by_id[id(tx)] for tx in txs])
        return out

    def inline_ok(self, txs: Sequence[schema.Transaction], record: bool) -> bool:
        """Whether the micro-batcher may score this lone submission on the event loop (``lone.py``)."""
        return inline_ok(self, txs, record)

    def _bound(self, txs: Sequence[schema.Transaction]) -> list[schema.Transaction]:
        known = known_extras(getattr(self.scorer, "extras", ()))
        out, dropped = bound_extras(txs, self.max_extras, known)
        self.extras_dropped += dropped
        return out

    def _write(self, preds: pd.DataFrame) -> None:
        """Publish (waiting for delivery), then store; raises :class:`BrokerError` / ``DatabaseError``."""
        if self.producer is not None:
            self._publish(preds)
        if self.sink is not None:
            self.sink.write(preds, batch_id=f"api-{uuid.uuid4().hex}")
            self.sink.flush()

    def _publish(self, preds: pd.DataFrame) -> None:
        """Produce the predictions and alerts and wait for every delivery report.

        Waits on its own messages' callbacks (``poll``), not ``flush``: the generator may
        share the producer and keep its queue busy.
        """
        producer = self.producer
        assert producer is not None
        pending = [0]
        failures: list[str] = []

        def delivered(err: Any, msg: Any) -> None:
            pending[0] -= 1
            if err is not None:
                failures.append(str(err))

        def produce(topic: str, value: bytes, key: bytes) -> None:
            pending[0] += 1
            try:
                producer.produce(topic, value, key=key, on_delivery=delivered)
            except BufferError:
                pending[0] -= 1
                raise BrokerError("producer queue full") from None
            except Exception as e:  # KafkaException: unknown topic, message too large
                pending[0] -= 1
                raise BrokerError(f"cannot publish to {topic!r}: {e}") from e

        records = prediction_records(preds)
        for p in records:
            produce(self.predictions_topic, schema.encode(p), p.card_id.encode())
            if p.decision == "fraud":
                alert = schema.Alert(
                    transaction_id=p.transaction_id, card_id=p.card_id, event_time=p.event_time, amount=p.amount,
                    merchant_id=p.merchant_id, merchant_category=p.merchant_category,
                    ensemble_score=p.ensemble_score, threshold=p.threshold, scores=p.scores,
                    reasons=p.reasons, model_version=p.model_version, scored_at=p.scored_at,
                    rule_ids=p.rule_ids, rule_action=p.rule_action,
                )  # fmt: skip
                produce(self.alerts_topic, schema.encode(alert), p.card_id.encode())
        deadline = time.monotonic() + self.publish_timeout_s
        while pending[0] > 0 and time.monotonic() < deadline:
            producer.poll(0.01)
        if pending[0] > 0:
            raise BrokerError(f"{pending[0]} predictions not acknowledged within {self.publish_timeout_s:.0f}s")
        if failures:
            raise BrokerError(f"{len(failures)} predictions not delivered: {failures[0]}")
