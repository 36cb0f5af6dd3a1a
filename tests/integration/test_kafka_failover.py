"""Broker failover on a 3-node Apache Kafka cluster (replication 3, min.insync.replicas 2).

kill -9 of the node leading the transactions topic's partition 0 while the engine streams
50,000 transactions (half of them published while that node is down), then restart it:
no row lost or duplicated in PostgreSQL, and each prediction once under read_committed
with ``--exactly-once``. Runs once per CI run (not in the second, Kafka-session pass).
"""

from __future__ import annotations

import pytest

from fraudguard.generator import generate_frame
from fraudguard.io.kafka_cluster import leader_node
from tests.fixtures.engine import encode_frame, make_engine_env, pg_count, publish_values
from tests.integration.kafka_eos_helpers import ROWS, start_engine, stop, transaction_ids, wait_committed, wait_scored

pytestmark = pytest.mark.integration

N = 50_000


def test_leader_kill_9_and_restart_loses_and_duplicates_nothing(
    kafka_cluster3, pg_schema_url, engine_registry, tmp_path
):
    cluster = kafka_cluster3
    env = make_engine_env(cluster.bootstrap_servers, pg_schema_url, engine_registry, tmp_path)
    s = env.settings
    values, keys = encode_frame(frame := generate_frame(N, seed=53))
    half = N // 2
    publish_values(env.bootstrap, s.topic_transactions, values[:half], keys[:half])
    log_path = tmp_path / "engine.log"

    with open(log_path, "ab") as log:
        engine = start_engine(env, log)
        try:
            wait_scored(env, engine, 5_000, 240, "the engine to score 5,000", log_path)
            victim = leader_node(env.bootstrap, s.topic_transactions, 0)
            cluster.kill(victim)
            at_kill = pg_count(env.database_url, ROWS)
            assert at_kill < N
            # the other half arrives while the leader is down: acks=all still has 2 in-sync replicas
            publish_values(env.bootstrap, s.topic_transactions, values[half:], keys[half:])
            wait_scored(env, engine, at_kill + 5_000, 240, "progress without a node", log_path)
            cluster.restart(victim)
            wait_scored(env, engine, N, 300, "the engine to catch up", log_path, alive=False)
            wait_committed(env, engine, s.topic_predictions, set(frame["transaction_id"]), 300, log_path)
        finally:
            stop(engine, log_path)
    assert leader_node(env.bootstrap, s.topic_transactions, 0) >= 0

    assert pg_count(env.database_url, "SELECT count(*) FROM fraud_predictions") == N
    assert pg_count(env.database_url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == N
    committed = transaction_ids(env.bootstrap, s.topic_predictions, "read_committed")
    assert set(committed) == set(frame["transaction_id"])
    assert max(committed.values()) == 1, f"duplicates under read_committed: {committed.most_common(3)}"
