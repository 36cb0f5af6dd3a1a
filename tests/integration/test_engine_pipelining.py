"""Pipelined engine: batch N+1 is scored while N is written, yet sinks see batches in order
and offsets are committed only after the batch's sinks flushed."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import TopicPartition

from fraudguard.engines.local.batching import poll_while_busy
from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame
from fraudguard.io.kafka import make_consumer
from fraudguard.io.sinks.base import PredictionBatch
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values

pytestmark = pytest.mark.integration

N = 3_000


class CommitProbeSink:
    """A real extra sink (the protocol, in memory) that records, at each write, what the
    group has committed so far and how far its batch reaches."""

    name = "probe"

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self.reader = make_consumer(bootstrap, group)
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.writes: list[tuple[int, int, int]] = []  # (committed total, first row, rows)
        self.thread_names: set[str] = set()
        self.seen = 0

    def setup(self) -> None: ...

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        committed = sum(max(tp.offset, 0) for tp in self.reader.committed(self.tps, timeout=10))
        self.writes.append((committed, self.seen, len(batch)))
        self.seen += len(batch)
        self.thread_names.add(threading.current_thread().name)
        time.sleep(0.05)  # a slow sink: the next batch is scored meanwhile

    def flush(self) -> None: ...

    def close(self) -> None:
        """The engine closes its sinks; the test still reads the commits afterwards."""


def test_sinks_get_batches_in_order_and_offsets_only_after_they_flushed(engine_env: EngineEnv):
    s = engine_env.settings
    values, keys = encode_frame(generate_frame(N, seed=55))
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)
    stop = threading.Event()
    engine = build_engine(
        s, EngineOptions(batch_size=400, max_wait_ms=200), database_url=engine_env.database_url, stop=stop
    )
    probe = CommitProbeSink(engine_env.bootstrap, s.consumer_group, s.topic_transactions, s.topic_partitions)
    engine.sinks.sinks.append(probe)
    stats = engine.run(max_messages=N)

    assert engine.pipeline and stats.consumed == N
    assert len(probe.writes) >= 2 and probe.seen == N
    assert all(name.startswith("fraudguard-sink") for name in probe.thread_names), "writes ran in the background"
    for committed, first_row, _rows in probe.writes:
        # everything before this batch was committed before it was written; nothing of it or later was
        assert committed == first_row
    assert sum(max(tp.offset, 0) for tp in probe.reader.committed(probe.tps, timeout=10)) == N
    assert pg_count(engine_env.database_url, "SELECT count(*) FROM fraud_predictions") == N
    probe.reader.close()


def test_poll_while_busy_gathers_while_busy_and_returns_early_when_not(engine_env: EngineEnv):
    s = engine_env.settings
    values, keys = encode_frame(generate_frame(50, seed=56))
    consumer = make_consumer(engine_env.bootstrap, None)
    consumer.assign([TopicPartition(s.topic_transactions, p, 0) for p in range(s.topic_partitions)])
    try:
        publish_values(engine_env.bootstrap, s.topic_transactions, values[:10], keys[:10])
        got = poll_while_busy(consumer, 1_000, 10.0, busy=lambda: False)
        assert 0 < len(got) <= 10, "free sinks: return what has arrived, without waiting for max_wait"

        t0 = time.monotonic()
        publisher = threading.Timer(
            0.5, publish_values, (engine_env.bootstrap, s.topic_transactions, values[10:], keys[10:])
        )
        publisher.start()
        got += poll_while_busy(consumer, 1_000, 1.5, busy=lambda: time.monotonic() - t0 < 10)
        publisher.join()
        assert len(got) == 50, "busy sinks: keep gathering until max_wait"
        assert sorted(m.value() for m in got) == sorted(values)
    finally:
        consumer.close()
