"""Workers 1 -> 3 -> 2 in one consumer group on Apache Kafka, sharing card and merchant state in
Redis (``FRAUDGUARD_REDIS_URL``): nothing lost or duplicated in PostgreSQL, and every card's
state at the end equals a single-worker run's on the same input."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from fraudguard.devenv.schemas import create_schema
from fraudguard.generator import generate_frame
from fraudguard.io.redis_state import CARD_PREFIX
from tests.fixtures.engine import encode_frame, make_engine_env, pg_count, publish_values, wait_for
from tests.integration.kafka_eos_helpers import stop

pytestmark = pytest.mark.integration

N = 30_000


def _schema(pg_url: str) -> str:
    """A fresh schema of the session database (dropped with it at the end of the session)."""
    return create_schema(pg_url)[1]


def _worker(env, redis_db_url: str, log) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "fraudguard", "stream", "--batch-size", "500", "--max-wait-ms", "100"]
    argv += ["--status-every", "1"]
    return subprocess.Popen(
        argv,
        env={**os.environ, **env.env, "FRAUDGUARD_REDIS_URL": redis_db_url},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _card_states(url: str) -> dict[bytes, bytes]:
    import redis

    client = redis.Redis.from_url(url)
    keys = sorted(client.scan_iter(match=CARD_PREFIX + "*", count=10_000))
    return dict(zip(keys, client.mget(keys), strict=True))


def _clear(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match="fg:*", count=10_000))
    if keys:
        client.delete(*keys)


def test_rebalance_1_3_2_workers_with_redis_state(apache_kafka, pg_url, engine_registry, tmp_path, redis_url):
    base = redis_url.rsplit("/", 1)[0]
    single_url, group_url = f"{base}/3", f"{base}/4"
    for u in (single_url, group_url):
        _clear(u)
    frame = generate_frame(N, seed=61)
    values, keys = encode_frame(frame)

    ref = make_engine_env(apache_kafka, _schema(pg_url), engine_registry, tmp_path / "ref")
    publish_values(ref.bootstrap, ref.settings.topic_transactions, values, keys)
    with open(tmp_path / "ref.log", "ab") as log:
        one = _worker(ref, single_url, log)
        wait_for(lambda: pg_count(ref.database_url, "SELECT count(*) FROM fraud_predictions") >= N, 300, "reference")
        stop(one, tmp_path / "ref.log")

    env = make_engine_env(apache_kafka, _schema(pg_url), engine_registry, tmp_path / "group")
    topic = env.settings.topic_transactions
    cuts = [0, 6_000, 16_000, N]  # published in three parts so every phase has work to do
    publish_values(env.bootstrap, topic, values[: cuts[1]], keys[: cuts[1]])
    count = lambda: pg_count(env.database_url, "SELECT count(*) FROM fraud_predictions")  # noqa: E731
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    running = lambda i: "tx/s" in logs[i].read_text(errors="replace")  # noqa: E731 - its loop prints status
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers.append(_worker(env, group_url, open(logs[0], "ab")))  # noqa: SIM115 - the child keeps it
        wait_for(lambda: count() >= 3_000, 240, "one worker to score 3,000")
        workers += [_worker(env, group_url, open(logs[i], "ab")) for i in (1, 2)]  # noqa: SIM115 - 1 -> 3
        wait_for(lambda: running(1) and running(2), 240, "the new workers to join")
        publish_values(env.bootstrap, topic, values[cuts[1] : cuts[2]], keys[cuts[1] : cuts[2]])
        wait_for(lambda: count() >= cuts[2] - 2_000, 240, "three workers to make progress")
        workers[1].send_signal(signal.SIGTERM)  # 3 -> 2 (graceful leave)
        assert workers[1].wait(90) == 0, logs[1].read_text()[-3000:]
        publish_values(env.bootstrap, topic, values[cuts[2] :], keys[cuts[2] :])
        wait_for(lambda: count() >= N, 300, "two workers to finish")
    finally:
        for w, path in zip(workers, logs, strict=False):
            if w.poll() is None:
                stop(w, path)

    assert count() == N
    for path in logs:  # every worker took part: the group really went 1 -> 3 -> 2
        scored = re.findall(r"([\d,]+) scored", path.read_text(errors="replace"))
        assert scored and int(scored[-1].replace(",", "")) > 0, path.read_text()[-2000:]
    assert pg_count(env.database_url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == N
    expected, got = _card_states(single_url), _card_states(group_url)
    assert len(expected) == frame["card_id"].nunique()
    differing = [k for k in expected if got.get(k) != expected[k]]
    assert set(got) == set(expected) and not differing, f"{len(differing)} of {len(expected)} cards differ"
