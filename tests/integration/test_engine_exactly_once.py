"""``fraudguard stream --exactly-once`` on Apache Kafka: kill -9 mid-stream, restart, and a
``read_committed`` reader of ``predictions`` sees every transaction id exactly once."""

from __future__ import annotations

import pytest

from fraudguard.generator import generate_frame
from tests.fixtures.engine import encode_frame, make_engine_env, pg_count, publish_values
from tests.integration.kafka_eos_helpers import (
    ROWS,
    kill9,
    start_engine,
    stop,
    transaction_ids,
    wait_committed,
    wait_scored,
)

pytestmark = pytest.mark.integration

N = 12_000


def test_kill_9_then_restart_gives_each_prediction_once_to_read_committed(
    apache_kafka, pg_schema_url, engine_registry, tmp_path
):
    env = make_engine_env(apache_kafka, pg_schema_url, engine_registry, tmp_path)
    s = env.settings
    frame = generate_frame(N, seed=41)
    publish_values(env.bootstrap, s.topic_transactions, *encode_frame(frame))
    log_path = tmp_path / "engine.log"

    with open(log_path, "ab") as log:
        first = start_engine(env, log)
        try:
            wait_scored(env, first, 2_000, 180, "the first engine to score 2,000", log_path)
        finally:
            kill9(first)
        assert pg_count(env.database_url, ROWS) < N, "the engine finished before it could be killed; raise N"

        second = start_engine(env, log)
        wait_scored(env, second, N, 240, "the restarted engine to catch up", log_path, alive=False)
        wait_committed(env, second, s.topic_predictions, set(frame["transaction_id"]), 240, log_path)
        stop(second, log_path)

    ids = set(frame["transaction_id"])
    committed = transaction_ids(env.bootstrap, s.topic_predictions, "read_committed")
    assert set(committed) == ids, "every transaction has a committed prediction"
    assert max(committed.values()) == 1, f"duplicates under read_committed: {committed.most_common(3)}"
    # the alerts topic is transactional too: each fraud decision once
    alerts = transaction_ids(env.bootstrap, s.topic_alerts, "read_committed")
    assert alerts and max(alerts.values()) == 1
    assert pg_count(env.database_url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == N
    assert pg_count(env.database_url, "SELECT count(*) FROM fraud_predictions") == N


def test_two_workers_in_one_group_each_with_its_own_transactional_id(
    apache_kafka, pg_schema_url, engine_registry, tmp_path
):
    env = make_engine_env(apache_kafka, pg_schema_url, engine_registry, tmp_path)
    s = env.settings
    frame = generate_frame(6_000, seed=43)
    publish_values(env.bootstrap, s.topic_transactions, *encode_frame(frame))
    log_path = tmp_path / "engine.log"
    with open(log_path, "ab") as log:
        engine = start_engine(env, log, workers=2)  # slots 0 and 1: two transactional ids, no fencing
        wait_scored(env, engine, 6_000, 240, "two workers to score 6,000", log_path, alive=False)
        # a rebalance (the second worker joining) aborts a transaction whose rows PostgreSQL keeps
        wait_committed(env, engine, s.topic_predictions, set(frame["transaction_id"]), 240, log_path)
        stop(engine, log_path)
    committed = transaction_ids(env.bootstrap, s.topic_predictions, "read_committed")
    assert set(committed) == set(frame["transaction_id"]) and max(committed.values()) == 1
    assert "fatal" not in log_path.read_text().lower()
