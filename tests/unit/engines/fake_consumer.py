"""A local engine wired to fakes: a consumer, recording sinks, a processor, an event log.

The consumer hands out real ``Message`` objects, records every commit and pause in the same
event log the sinks write to, and can revoke its partition from inside ``consume`` as
librdkafka does; ``tests/unit/engines/test_commit_order.py`` reads the order off that log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from confluent_kafka import Message, TopicPartition

from fraudguard import schema
from fraudguard.engines.local.engine import LocalEngine
from fraudguard.errors import SinkError
from fraudguard.generator import generate_frame
from fraudguard.io.sinks.base import SinkSet
from tests.fixtures.postgres import prediction_frame

TOPIC = "tx"
SINKS = ("postgres", "parquet", "kafka")
Event = tuple[Any, ...]


def messages(n: int) -> list[Message]:
    values = schema.encode_many(schema.from_frame(generate_frame(n, fraud_rate=0.1, seed=3)))
    now_ms = int(time.time() * 1000)
    return [
        Message(topic=TOPIC, partition=0, offset=i, key=b"k", value=v, timestamp=(1, now_ms))
        for i, v in enumerate(values)
    ]


class FakeConsumer:
    """Serves ``queue`` in ``consume`` calls; logs commits, pauses and revocations into ``events``."""

    def __init__(self, queue: list[Message], events: list[Event]) -> None:
        self.queue = list(queue)
        self.events = events
        self.tp = TopicPartition(TOPIC, 0)
        self.paused = False
        self.on_revoke: Callable[..., None] | None = None
        self.before_consume: Callable[[], None] | None = None
        self.closed = False

    def subscribe(self, topics: list[str], on_assign: Any = None, on_revoke: Any = None, on_lost: Any = None) -> None:
        self.on_revoke = on_revoke

    def revoke(self) -> None:
        assert self.on_revoke is not None
        self.on_revoke(self, [self.tp])

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        if self.before_consume is not None:
            hook, self.before_consume = self.before_consume, None
            hook()
        if self.paused or not self.queue:
            time.sleep(min(timeout, 0.002))
            return []
        out, self.queue = self.queue[:num_messages], self.queue[num_messages:]
        return out

    def poll(self, timeout: float) -> Message | None:
        time.sleep(min(timeout, 0.002))
        return None

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> list[TopicPartition]:
        assert asynchronous is False
        self.events.append(("commit", {(tp.topic, tp.partition): tp.offset for tp in offsets}))
        return offsets

    def assignment(self) -> list[TopicPartition]:
        return [self.tp]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        return 0, len(self.queue)

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused = True
        self.events.append(("pause",))

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused = False
        self.events.append(("resume",))

    def close(self) -> None:
        self.closed = True


class RecordingSink:
    """A sink that logs its writes and flushes; ``failures`` flushes fail first (``fail_with``)."""

    def __init__(self, name: str, events: list[Event], failures: int = 0, fail_with: type[Exception] = SinkError):
        self.name = name
        self.events = events
        self.failures = failures
        self.fail_with = fail_with
        self.on_failure: Callable[[], None] | None = None
        self.batch_id: str | None = None

    def setup(self) -> None: ...

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        self.batch_id = batch_id
        self.events.append(("write", self.name, batch_id))

    def flush(self) -> None:
        if self.failures:
            self.failures -= 1
            if self.on_failure is not None:
                self.on_failure()
            raise self.fail_with(f"{self.name} is down")
        self.events.append(("flush", self.name, self.batch_id))

    def close(self) -> None: ...


class NoDeadLetters:
    """The DLQ; every fake message is valid, so it is never written."""

    producer = object()

    def write(self, letters: list[Any]) -> None:
        raise AssertionError("no dead letters expected")

    def flush(self) -> None: ...


class LegitProcessor:
    """Scores every transaction legit (the model is not what these tests are about)."""

    version = "v-test"

    def at_batch_boundary(self) -> bool:
        return False

    def process(self, frame: pd.DataFrame, partitions: Any) -> pd.DataFrame:
        out = prediction_frame(len(frame))
        for col in ("transaction_id", "card_id", "produced_at"):
            out[col] = frame[col].to_numpy()
        out["decision"] = "legit"
        out["scored_at"] = pd.Timestamp.now(tz="UTC")
        return out


class RevocationLog:
    """The rebalance listener: logs revocations into the same event log."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def assigned(self, consumer: Any, partitions: list[TopicPartition]) -> None: ...

    def revoked(self, partitions: list[TopicPartition]) -> None:
        self.events.append(("revoked", [p.partition for p in partitions]))


def make_engine(n: int, *, pipeline: bool, sinks: list[RecordingSink] | None = None, batch_size: int = 4):
    events: list[Event] = []
    sinks = sinks if sinks is not None else [RecordingSink(name, events) for name in SINKS]
    for sink in sinks:
        sink.events = events
    consumer = FakeConsumer(messages(n), events)
    engine = LocalEngine(
        consumer,  # type: ignore[arg-type]
        LegitProcessor(),
        SinkSet(sinks, NoDeadLetters()),  # type: ignore[arg-type]
        topic=TOPIC,
        batch_size=batch_size,
        max_wait_s=0.05,
        rebalance=RevocationLog(events),
        backoff_s=0.01,
        max_backoff_s=0.02,
        pipeline=pipeline,
    )
    return engine, consumer, events


def commits(events: list[Event]) -> list[int]:
    return [e[1][(TOPIC, 0)] for e in events if e[0] == "commit"]


def last_offset(batch_id: str) -> int:
    """``tx-p0o4-7`` -> 7."""
    return int(batch_id.rsplit("-", 1)[1])
