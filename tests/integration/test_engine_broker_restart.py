"""The broker is killed (-9) and restarted mid-stream: the engine notices and resumes (issue 11, failure 2).

Tansu keeps everything in memory, so the restarted broker has no topics, no committed
offsets and no group: exactly the "lost member id, unknown topics, offsets reset" case.
Every message produced after the restart must be scored. The recovery time (restart ->
every new message stored) is printed, never asserted (timings belong in benchmarks).
"""

from __future__ import annotations

import threading
import time

import pytest

from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame
from fraudguard.io.broker import EmbeddedBroker, free_port
from fraudguard.io.kafka import ensure_topics
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, wait_for

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_engine_resumes_after_the_broker_is_killed_and_restarted(engine_env: EngineEnv) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    s = engine_env.settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
    url = engine_env.database_url
    frame = generate_frame(8_000, seed=71)
    before, after = frame.iloc[:6_000], frame.iloc[6_000:]
    stop = threading.Event()
    lines: list[str] = []
    engine = build_engine(s, EngineOptions(batch_size=200, max_wait_ms=100), database_url=url, stop=stop,
                          printer=lines.append)  # fmt: skip
    engine.backoff_s = 0.05
    engine.max_backoff_s = 1.0
    if engine.reporter is not None:
        engine.reporter.every_s = 0.5
    worker = threading.Thread(target=engine.run, daemon=True)
    try:
        worker.start()
        values, keys = encode_frame(before)
        publish_values(broker.bootstrap_servers, s.topic_transactions, values, keys)
        # mid-stream: the engine is busy with the backlog when the broker dies
        wait_for(lambda: pg_count(url, "SELECT count(*) FROM fraud_predictions") >= 400, 60, "first batches")

        broker._proc.kill()  # type: ignore[union-attr]  # kill -9 of the broker we started
        broker._proc.wait()  # type: ignore[union-attr]
        broker._proc = None
        time.sleep(2.0)  # the engine sees the broker gone
        broker = EmbeddedBroker(port=port).start()
        restarted = time.monotonic()
        ensure_topics(broker.bootstrap_servers, s.topics, s.topic_partitions)
        values, keys = encode_frame(after)
        publish_values(broker.bootstrap_servers, s.topic_transactions, values, keys)
        ids = after["transaction_id"].tolist()
        query = f"SELECT count(*) FROM fraud_predictions WHERE transaction_id = ANY(ARRAY{ids!r})"
        wait_for(lambda: pg_count(url, query) == len(after), 90, "every message produced after the restart")
        print(
            f"\nbroker restart -> all {len(after)} new messages stored in {time.monotonic() - restarted:.1f}s "
            f"(outages {engine.stats.broker_outages}, re-subscribes {engine.stats.resubscribes})"
        )
        assert engine.stats.broker_outages >= 1
        assert any("broker unreachable" in line for line in lines), lines[-5:]
    finally:
        stop.set()
        worker.join(60)
        broker.stop()
