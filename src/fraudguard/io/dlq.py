"""The dead-letter topic: messages that cannot be scored, kept byte for byte with the reason.

A rejected message is produced to ``transactions_dlq`` with its ORIGINAL value and key
(never re-encoded: a non-UTF-8 or 1 MB payload is evidence the producer's owner needs) and
headers saying why and where it came from:

============================  ===========================================================
``fg.reason``                 human-readable reason (``malformed JSON: ...``)
``fg.field``                  offending field (``amount``, ``$`` for the whole message)
``fg.source.topic``           topic the message was read from
``fg.source.partition``       its partition (decimal text)
``fg.source.offset``          its offset (decimal text)
``fg.source.timestamp_ms``    its broker timestamp, when known
============================  ===========================================================

Delivery is confirmed in :meth:`DeadLetterWriter.flush`, which an engine calls before it
commits offsets, so a message is never both dropped from the stream and absent from the DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from fraudguard.errors import BrokerError

HEADER_REASON = "fg.reason"
HEADER_FIELD = "fg.field"
HEADER_TOPIC = "fg.source.topic"
HEADER_PARTITION = "fg.source.partition"
HEADER_OFFSET = "fg.source.offset"
HEADER_TIMESTAMP = "fg.source.timestamp_ms"
MAX_REASON_BYTES = 1024
"""Reasons are cut to this size: msgspec may quote part of a huge payload in its message."""
PRODUCER_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""``message.max.bytes`` of a producer writing dead letters: they keep the original bytes,
so the producer must accept what the source topic holds."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected message: where it came from, its bytes, and why it was refused."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    field: str
    reason: str
    timestamp_ms: int | None = None

    @classmethod
    def from_message(cls, msg: Message, field: str, reason: str) -> DeadLetter:
        """Build from a consumed message, keeping its original key and value."""
        ts_type, ts = msg.timestamp()
        return cls(
            topic=msg.topic() or "",
            partition=int(msg.partition() or 0),
            offset=int(msg.offset() or 0),
            key=msg.key(),
            value=msg.value(),
            field=field,
            reason=reason,
            timestamp_ms=ts if ts_type != 0 and ts >= 0 else None,
        )

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers naming the reason and the source position."""
        out = [
            (HEADER_REASON, self.reason.encode("utf-8", "replace")[:MAX_REASON_BYTES]),
            (HEADER_FIELD, self.field.encode("utf-8", "replace")),
            (HEADER_TOPIC, self.topic.encode()),
            (HEADER_PARTITION, str(self.partition).encode()),
            (HEADER_OFFSET, str(self.offset).encode()),
        ]
        if self.timestamp_ms is not None:
            out.append((HEADER_TIMESTAMP, str(self.timestamp_ms).encode()))
        return out


class DeadLetterWriter:
    """Produces :class:`DeadLetter` records to the DLQ topic; ``flush`` confirms delivery.

    Parameters
    ----------
    producer:
        A confluent-kafka producer (usually shared with the Kafka prediction sinks). Its
        ``message.max.bytes`` must admit the largest message the source topic accepts,
        since values are copied unchanged.
    topic:
        The dead-letter topic (``settings.topic_dlq``).
    """

    name = "dlq"

    def __init__(self, producer: Producer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0
        self._failures: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(str(err))

    def write(self, letters: list[DeadLetter]) -> None:
        """Queue the records (asynchronous; :meth:`flush` waits for the broker)."""
        for letter in letters:
            self._produce(letter)
        self.sent += len(letters)

    def _produce(self, letter: DeadLetter) -> None:
        kwargs: dict[str, Any] = {"value": letter.value, "headers": letter.headers(), "on_delivery": self._on_delivery}
        if letter.key is not None:
            kwargs["key"] = letter.key
        while True:
            try:
                self.producer.produce(self.topic, **kwargs)
                return
            except BufferError:
                self.producer.poll(0.1)
            except Exception as e:  # KafkaException: message too large, unknown topic
                raise BrokerError(f"cannot queue a dead letter for {self.topic!r}: {e}") from e

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued record is acknowledged; :class:`BrokerError` otherwise."""
        remaining = self.producer.flush(timeout)
        failures, self._failures = self._failures, []
        if remaining:
            raise BrokerError(f"{remaining} dead letters not delivered to {self.topic!r} within {timeout:.0f}s")
        if failures:
            raise BrokerError(f"{len(failures)} dead letters failed to reach {self.topic!r}: {failures[0]}")
