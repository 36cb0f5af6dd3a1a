"""PostgreSQL connections cut again and again mid-stream: the engine retries and loses nothing."""

from __future__ import annotations

import time

import psycopg
import pytest

from fraudguard.generator import generate_frame
from tests.fixtures.engine import EngineEnv, encode_frame, local_engine, pg_count, publish_values, running

pytestmark = pytest.mark.integration

N = 6_000


def _terminate_sink_connections(admin_url: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'fraudguard-sink' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_database_connections_killed_repeatedly_lose_nothing(engine_env: EngineEnv):
    s = engine_env.settings
    frame = generate_frame(N, seed=44)
    values, keys = encode_frame(frame)
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)

    engine = local_engine(engine_env, batch_size=300, max_wait_ms=100)
    engine.backoff_s = 0.05
    killed = 0
    deadline = time.monotonic() + 180
    with running(engine, N, join_s=60) as run:
        while run.thread.is_alive() and time.monotonic() < deadline:
            killed += _terminate_sink_connections(engine_env.database_url)
            time.sleep(0.3)

    stats = run.stats
    assert killed > 0
    assert stats.retries > 0, "the cuts should have forced retries"
    assert stats.consumed == N
    url = engine_env.database_url
    assert pg_count(url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == N
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == N
