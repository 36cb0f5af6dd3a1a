"""Kafka sinks: every prediction to ``predictions``, fraud decisions to ``fraud_alerts``.

Messages are JSON in the shape of :class:`fraudguard.records.Prediction` and
:class:`fraudguard.records.Alert`, encoded column-wise by
:func:`fraudguard.records.encode_predictions` / :func:`~fraudguard.records.encode_alerts`,
and are keyed by ``card_id``, so one card's decisions stay in order.

Delivery is at-least-once: a batch whose flush failed is produced again on retry, so a
consumer of these topics de-duplicates on ``transaction_id`` (as the PostgreSQL upsert does).
A sink's ``flush`` waits for its own messages' delivery reports (``acks.py``), so it holds
even on a producer shared with another writer.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer

from fraudguard.errors import BrokerError
from fraudguard.io.renewing_producer import bind
from fraudguard.io.sinks.acks import DeliveryReports
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.records import encode_alerts, encode_predictions


class ProducerSink:
    """Shared produce / flush bookkeeping of the Kafka sinks: each waits for its own messages' reports."""

    name = "kafka"

    def __init__(self, producer: Producer, topic: str, *, flush_timeout_s: float = 60.0) -> None:
        self.producer = producer
        self.topic = topic
        self.flush_timeout_s = flush_timeout_s
        self.messages_sent = 0
        self.reports = DeliveryReports(producer, flush_timeout_s)

    def setup(self) -> None:
        """Topics are created by ``ensure_topics`` at engine start; nothing else to prepare."""

    def _produce_all(self, keys: list[Any], values: list[bytes]) -> None:
        reports, topic, producer = self.reports, self.topic, self.producer
        cb = reports.expect(len(values))
        produce, on_delivery, refused = bind(producer, cb)
        queued = 0
        try:
            for key, value in zip(keys, values, strict=True):
                try:
                    produce(topic, value=value, key=key, on_delivery=on_delivery)
                except BufferError:  # local queue full: let librdkafka drain it (for a while)
                    reports.queue_when_room(topic, value=value, key=key, on_delivery=cb)
                except Exception as e:  # KafkaException (message too large, unknown topic)
                    refused(e)
                    raise BrokerError(f"cannot queue a message for {topic!r}: {e}") from e
                queued += 1
        finally:
            reports.expect(queued - len(values))  # those never queued will never be reported
        self.producer.poll(0)
        self.messages_sent += len(values)

    def flush(self) -> None:
        """Wait until the broker acknowledged every message this sink queued; :class:`BrokerError` if not."""
        self.reports.wait(f"messages for {self.topic!r}")

    def close(self) -> None:
        """Flush what is queued; the producer itself belongs to the caller."""
        self.producer.flush(self.flush_timeout_s)


class KafkaPredictionSink(ProducerSink):
    """Every prediction as JSON on the predictions topic, keyed by card."""

    name = "kafka-predictions"

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        """Queue one message per row (``batch_id`` is unused: the topic is at-least-once)."""
        frame = batch.frame
        if frame.empty:
            return
        self._produce_all(frame["card_id"].tolist(), encode_predictions(frame))


class KafkaAlertSink(ProducerSink):
    """Rows decided ``fraud`` as JSON alerts (with reason codes) on the alerts topic."""

    name = "kafka-alerts"

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        """Queue one alert per fraud row."""
        frame = batch.frame
        fraud = frame[frame["decision"].to_numpy() == "fraud"] if not frame.empty else frame
        if fraud.empty:
            return
        self._produce_all(fraud["card_id"].tolist(), encode_alerts(fraud))
