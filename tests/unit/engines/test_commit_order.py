"""The local engine's crash rule, without a broker: offsets are committed only after every sink flushed.

A fake consumer stands in for confluent-kafka's (the integration tests run the engine on the
real broker; here the order of calls is what is checked, which a real broker cannot show).
It hands out real ``Message`` objects, records every commit in the same event log the sinks
write to, and can revoke its partition from inside ``consume`` as librdkafka does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from confluent_kafka import Message, TopicPartition

from fraudguard import schema
from fraudguard.engines.local.engine import LocalEngine
from fraudguard.errors import SinkError
from fraudguard.generator import generate_frame
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
        sinks,  # type: ignore[arg-type]
        NoDeadLetters(),  # type: ignore[arg-type]
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


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "sequential"])
def test_offsets_are_committed_only_after_every_sink_flushed_the_batch(pipeline: bool):
    engine, consumer, events = make_engine(10, pipeline=pipeline)
    stats = engine.run(max_messages=10)
    assert commits(events) == [4, 8, 10]
    assert stats.commits == 3 and stats.consumed == stats.scored == 10
    segment: list[Event] = []
    for event in events:
        if event[0] != "commit":
            segment.append(event)
            continue
        committed = event[1][(TOPIC, 0)]
        # between two commits: exactly one batch, written then flushed by every sink, ending
        # at the committed offset; the next batch reaches no sink before this commit
        batch_ids = {e[2] for e in segment}
        assert len(batch_ids) == 1, segment
        (batch_id,) = batch_ids
        assert last_offset(batch_id) + 1 == committed
        assert {e[1] for e in segment if e[0] == "flush"} == set(SINKS)
        for name in SINKS:
            assert segment.index(("write", name, batch_id)) < segment.index(("flush", name, batch_id))
        segment = []
    assert segment == []
    assert consumer.closed


def test_a_sink_that_fails_then_recovers_gets_the_batch_again_before_the_one_commit():
    events: list[Event] = []
    sinks = [RecordingSink("postgres", events, failures=2), RecordingSink("parquet", events)]
    engine, _consumer, events = make_engine(4, pipeline=True, sinks=sinks)
    stats = engine.run(max_messages=4)
    assert commits(events) == [4]
    commit_at = events.index(("commit", {(TOPIC, 0): 4}))
    assert ("flush", "postgres", "tx-p0o0-3") in events[:commit_at]
    assert events.index(("pause",)) < events.index(("flush", "postgres", "tx-p0o0-3"))
    assert ("resume",) in events[:commit_at]  # partitions paused while retrying, resumed after
    assert stats.retries == 2 and stats.commits == 1


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "sequential"])
def test_a_sink_failing_until_the_engine_is_stopped_commits_nothing(pipeline: bool):
    events: list[Event] = []
    failing = RecordingSink("postgres", events, failures=1_000)
    engine, consumer, events = make_engine(8, pipeline=pipeline, sinks=[failing, RecordingSink("parquet", events)])
    attempts = {"n": 0}

    def stop_on_third_failure() -> None:
        attempts["n"] += 1
        if attempts["n"] == 3:
            engine.stop_event.set()

    failing.on_failure = stop_on_third_failure
    stats = engine.run(max_messages=8)
    assert attempts["n"] == 3
    assert commits(events) == []
    assert stats.commits == 0 and stats.consumed == 0
    assert consumer.closed


def test_a_sink_failing_with_a_bug_commits_nothing_and_the_error_surfaces():
    events: list[Event] = []
    broken = RecordingSink("postgres", events, failures=1, fail_with=RuntimeError)
    engine, consumer, events = make_engine(4, pipeline=True, sinks=[broken, RecordingSink("parquet", events)])
    with pytest.raises(RuntimeError, match="postgres is down"):
        engine.run(max_messages=4)
    assert commits(events) == []
    assert consumer.closed


def test_a_revocation_commits_the_batch_in_flight_before_the_partition_moves():
    engine, consumer, events = make_engine(4, pipeline=True)
    engine.subscribe()
    first = engine.step()  # batch 0-3 scored and handed to the background writer
    assert first is not None and commits(events) == []
    consumer.before_consume = consumer.revoke  # the next poll delivers a rebalance
    engine.step()
    revoked_at = events.index(("revoked", [0]))
    commit_at = events.index(("commit", {(TOPIC, 0): 4}))
    assert commit_at < revoked_at
    assert {e[1] for e in events[:commit_at] if e[0] == "flush"} == set(SINKS)
    assert engine.stats.commits == 1
    engine.close()
    assert commits(events) == [4]  # settled once: close has nothing left to commit


def test_a_revocation_during_a_failed_write_commits_nothing_and_the_loop_retries_it():
    events: list[Event] = []
    sinks = [RecordingSink("postgres", events, failures=1), RecordingSink("parquet", events)]
    engine, consumer, events = make_engine(4, pipeline=True, sinks=sinks)
    engine.subscribe()
    engine.step()
    consumer.before_consume = consumer.revoke
    engine.step()  # the revocation finds the write failed: nothing committed then; the loop retries
    revoked_at = events.index(("revoked", [0]))
    assert "commit" not in [e[0] for e in events[:revoked_at]]
    assert commits(events) == [4]
    assert events.index(("flush", "postgres", "tx-p0o0-3")) < events.index(("commit", {(TOPIC, 0): 4}))
    engine.close()


def test_stopping_during_the_background_write_still_settles_before_closing():
    gate = threading.Event()
    events: list[Event] = []

    class SlowSink(RecordingSink):
        def flush(self) -> None:
            gate.wait(5)
            super().flush()

    engine, _consumer, events = make_engine(4, pipeline=True, sinks=[SlowSink("postgres", events)])
    engine.subscribe()
    engine.step()
    assert commits(events) == []  # the write waits on the gate
    gate.set()
    engine.close()  # waits for the write in flight, then commits it
    assert commits(events) == [4]
    assert events.index(("flush", "postgres", "tx-p0o0-3")) < events.index(("commit", {(TOPIC, 0): 4}))
