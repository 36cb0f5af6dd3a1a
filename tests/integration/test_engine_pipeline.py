"""The local engine end to end: generated transactions through a real broker into every sink."""

from __future__ import annotations

import threading

import msgspec
import pyarrow.dataset as ds
import pytest

from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame
from fraudguard.schema import Alert, Prediction
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, read_topic

pytestmark = pytest.mark.integration


def run_engine(env: EngineEnv, n_messages: int, timeout_s: float = 180.0, **opts: object):
    """Run an in-process engine until it consumed ``n_messages`` (or the safety timeout)."""
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.start()
    try:
        engine = build_engine(env.settings, EngineOptions(**opts), database_url=env.database_url, stop=stop)
        return engine.run(max_messages=n_messages)
    finally:
        timer.cancel()


def test_20k_transactions_reach_every_sink_exactly_once(engine_env: EngineEnv):
    s = engine_env.settings
    frame = generate_frame(20_000, fraud_rate=0.05, seed=21)
    values, keys = encode_frame(frame)
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)

    stats = run_engine(engine_env, len(values), batch_size=2000, max_wait_ms=200)

    assert stats.consumed == 20_000
    assert stats.dead_letters == 0
    url = engine_env.database_url
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == 20_000
    assert pg_count(url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == 20_000
    frauds = pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE decision = 'fraud'")
    assert frauds == stats.alerts
    assert frauds > 0, "the tiny model should flag some of 5% injected fraud"

    preds = read_topic(engine_env.bootstrap, s.topic_predictions)
    assert len(preds) == 20_000
    decoded = [msgspec.json.decode(m.value(), type=Prediction) for m in preds]
    assert {p.transaction_id for p in decoded} == set(frame["transaction_id"])
    assert all(m.key().decode() == p.card_id for m, p in zip(preds, decoded, strict=True))

    alerts = read_topic(engine_env.bootstrap, s.topic_alerts)
    assert len(alerts) == frauds
    decoded_alerts = [msgspec.json.decode(m.value(), type=Alert) for m in alerts]
    assert all(a.reasons for a in decoded_alerts), "every alert carries reason codes"
    assert {a.transaction_id for a in decoded_alerts} == {p.transaction_id for p in decoded if p.decision == "fraud"}

    table = ds.dataset(s.parquet_dir, format="parquet", partitioning="hive").to_table(columns=["transaction_id"])
    assert table.num_rows == 20_000
    assert len(set(table["transaction_id"].to_pylist())) == 20_000
    assert read_topic(engine_env.bootstrap, s.topic_dlq, idle_s=1.0) == []
