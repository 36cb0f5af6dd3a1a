"""The Spark engine picks rule changes up at its batch boundary (the driver's foreachBatch)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")

from fraudguard.engines.spark.query import start_query
from fraudguard.engines.spark.writer import BatchWriter
from fraudguard.generator import generate_frame
from fraudguard.io import pg_rules
from fraudguard.io.postgres import connect
from fraudguard.io.rule_watcher import RuleWatcher
from fraudguard.io.sinks.postgres import PostgresSink
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values
from tests.integration.test_spark_engine import kafka_writer, make_plan, run_until, spark, spark_settings  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.spark]
N = 2_000


def test_rule_activated_mid_stream_applies_from_the_next_spark_batch(spark, engine_env: EngineEnv, tmp_path):  # noqa: F811
    ss = spark_settings(engine_env, "spark-rules")
    url = engine_env.database_url
    values, keys = encode_frame(generate_frame(N, seed=77, customers=200, merchants=100))
    pg = PostgresSink(url)
    base = kafka_writer(ss, [pg])
    watcher = RuleWatcher(url, check_every_s=0)
    writer = BatchWriter(base.sinks, query_name="fraudguard-rules", rules=watcher)
    publish_values(engine_env.bootstrap, ss.topic_transactions, values[: N // 2], keys[: N // 2])
    query, _ = start_query(spark, make_plan(ss, 400), writer, checkpoint=tmp_path / "ckpt", trigger="500ms")
    try:
        run_until(query, lambda: writer.stats.predictions >= N // 2, 600, "the first half")
        with connect(url, autocommit=True) as conn:
            feature_rule = pg_rules.create_rule(
                conn, {"name": "feat", "condition": "card_count_1h > 0", "action": "allow", "state": "active"}, "t"
            )
            block = pg_rules.create_rule(
                conn, {"name": "all", "condition": "amount >= 0", "action": "block", "state": "active"}, "t"
            )
        publish_values(engine_env.bootstrap, ss.topic_transactions, values[N // 2 :], keys[N // 2 :])
        run_until(query, lambda: writer.stats.predictions >= N, 600, "the second half")
    finally:
        query.stop()
        watcher.close()
    ruled = pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE rule_ids = ARRAY['{block['id']}']")
    plain = pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE rule_ids = '{}'")
    assert ruled >= N // 2 and plain >= N // 2 and ruled + plain == N
    assert (
        pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE rule_action = 'block' AND decision = 'fraud'")
        == ruled
    )
    assert pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE '{feature_rule['id']}' = ANY (rule_ids)") == 0
    for path in ss.parquet_dir.rglob("*.parquet"):
        ids = pq.read_table(path, columns=["rule_ids"])["rule_ids"].to_pylist()
        assert len({tuple(i) for i in ids}) == 1, f"batch file {path.name} mixes rule sets"
