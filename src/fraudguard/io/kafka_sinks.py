"""Kafka sinks: every prediction to ``predictions``, fraud decisions to ``fraud_alerts``.

Messages are JSON in the shape of :class:`fraudguard.records.Prediction` and
:class:`fraudguard.records.Alert`, encoded column-wise by
:func:`fraudguard.records.encode_predictions` / :func:`~fraudguard.records.encode_alerts`,
and are keyed by ``card_id``, so one card's decisions stay in order.

Delivery is at-least-once: a batch whose flush failed is produced again on retry, so a
consumer of these topics de-duplicates on ``transaction_id`` (as the PostgreSQL upsert does).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from confluent_kafka import KafkaError, Message, Producer

from fraudguard.errors import BrokerError
from fraudguard.records import encode_alerts, encode_predictions


class ProducerSink:
    """Shared produce / flush / delivery-error bookkeeping of the two Kafka sinks."""

    name = "kafka"

    def __init__(self, producer: Producer, topic: str, *, flush_timeout_s: float = 60.0) -> None:
        self.producer = producer
        self.topic = topic
        self.flush_timeout_s = flush_timeout_s
        self.messages_sent = 0
        self._failures: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(str(err))

    def setup(self) -> None:
        """Topics are created by ``ensure_topics`` at engine start; nothing else to prepare."""

    def _produce_all(self, keys: list[Any], values: list[bytes]) -> None:
        produce, poll, topic, cb = self.producer.produce, self.producer.poll, self.topic, self._on_delivery
        for key, value in zip(keys, values, strict=True):
            while True:
                try:
                    produce(topic, value=value, key=key, on_delivery=cb)
                    break
                except BufferError:  # local queue full: let librdkafka drain it
                    poll(0.1)
                except Exception as e:  # KafkaException (message too large, unknown topic)
                    raise BrokerError(f"cannot queue a message for {topic!r}: {e}") from e
        poll(0)
        self.messages_sent += len(values)

    def flush(self) -> None:
        """Wait for every queued message to be acknowledged; :class:`BrokerError` if not."""
        remaining = self.producer.flush(self.flush_timeout_s)
        failures, self._failures = self._failures, []
        if remaining:
            raise BrokerError(
                f"{remaining} messages for {self.topic!r} not delivered within {self.flush_timeout_s:.0f}s"
            )
        if failures:
            raise BrokerError(f"{len(failures)} messages failed to reach {self.topic!r}: {failures[0]}")

    def close(self) -> None:
        """Flush what is queued; the producer itself belongs to the caller."""
        self.producer.flush(self.flush_timeout_s)


class KafkaPredictionSink(ProducerSink):
    """Every prediction as JSON on the predictions topic, keyed by card."""

    name = "kafka-predictions"

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Queue one message per row (``batch_id`` is unused: the topic is at-least-once)."""
        if frame.empty:
            return
        self._produce_all(frame["card_id"].tolist(), encode_predictions(frame))


class KafkaAlertSink(ProducerSink):
    """Rows decided ``fraud`` as JSON alerts (with reason codes) on the alerts topic."""

    name = "kafka-alerts"

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Queue one alert per fraud row."""
        fraud = frame[frame["decision"].to_numpy() == "fraud"] if not frame.empty else frame
        if fraud.empty:
            return
        self._produce_all(fraud["card_id"].tolist(), encode_alerts(fraud))
