"""The Spark engine shadow-scores every transaction with each challenger, records it, and never lets it decide.

The same flag-everything challenger as the local engine's test (the champion's models with
an ensemble threshold of 0), through Spark's own query and ``foreachBatch`` writer: the
prediction record keeps the champion's decisions; the challenger's rows go to
``fraud_challenger_scores``, its Parquet dataset and its topic. Retired between two
micro-batches, it is no longer scored from the next one.
"""

from __future__ import annotations

import msgspec
import pyarrow.dataset as ds
import pytest

pytest.importorskip("pyspark")

from fraudguard.engines.spark.query import start_query
from fraudguard.engines.spark.shadow import shadow_sinks
from fraudguard.engines.spark.writer import BatchWriter
from fraudguard.generator import generate_frame
from fraudguard.io.kafka import make_producer
from fraudguard.io.sinks.challenger import challenger_parquet_dir, challenger_topic
from fraudguard.io.sinks.postgres import PostgresSink
from fraudguard.models import lifecycle
from fraudguard.models.registry import current_version
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, read_topic
from tests.integration.test_engine_shadow import CHALLENGER, make_flag_everything_challenger
from tests.integration.test_spark_engine import kafka_writer, make_plan, run_until, spark, spark_settings  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.spark]
N = 2_000


def test_spark_challenger_recorded_but_never_deciding_and_retired_between_batches(
    spark,  # noqa: F811
    engine_env: EngineEnv,
    tmp_path,
):
    ss = spark_settings(engine_env, "spark-shadow")
    url = engine_env.database_url
    champion = current_version(ss.models_dir)
    make_flag_everything_challenger(ss.models_dir, champion)
    frame = generate_frame(N, seed=71, fraud_rate=0.02, customers=200, merchants=100)
    values, keys = encode_frame(frame)
    first = set(frame["transaction_id"].iloc[: N // 2])

    shadow, challenger_sinks = shadow_sinks(ss, url, make_producer(engine_env.bootstrap, log_level=2))
    base = kafka_writer(ss, [PostgresSink(url), *challenger_sinks])
    writer = BatchWriter(base.sinks, query_name="fraudguard-shadow", shadow=shadow)
    publish_values(engine_env.bootstrap, ss.topic_transactions, values[: N // 2], keys[: N // 2])
    query, _ = start_query(spark, make_plan(ss, 400), writer, checkpoint=tmp_path / "ckpt", trigger="500ms")
    try:
        run_until(query, lambda: writer.stats.predictions >= N // 2, 600, "the first half")
        lifecycle.remove_challenger(ss.models_dir, CHALLENGER, actor="test")
        publish_values(engine_env.bootstrap, ss.topic_transactions, values[N // 2 :], keys[N // 2 :])
        run_until(query, lambda: writer.stats.predictions >= N, 600, "the second half")
    finally:
        query.stop()
        for sink in base.sinks:
            sink.close()

    # the prediction record: every transaction once, the champion's version and decisions only
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == N
    assert pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE model_version <> '{champion}'") == 0
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE decision = 'fraud'") < N // 5
    assert (
        pg_count(
            url, "SELECT count(*) FROM fraud_predictions WHERE (ensemble_score >= threshold) <> (decision = 'fraud')"
        )
        == 0
    )

    # the challenger: exactly the first half, each once, all flagged, champion columns copied faithfully
    assert shadow.rows_scored == N // 2
    assert pg_count(url, f"SELECT count(*) FROM fraud_challenger_scores WHERE model_version = '{CHALLENGER}'") == N // 2
    assert pg_count(url, "SELECT count(*) FROM fraud_challenger_scores WHERE decision <> 'fraud'") == 0
    mismatched = """SELECT count(*) FROM fraud_challenger_scores c JOIN fraud_predictions p USING (transaction_id)
        WHERE c.champion_score <> p.ensemble_score OR c.champion_decision <> p.decision
        OR c.champion_version <> p.model_version OR c.event_time <> p.event_time
        OR abs(c.score - p.ensemble_score) > 1e-12"""  # same models, same features: same score, another threshold
    assert pg_count(url, mismatched) == 0

    table = ds.dataset(challenger_parquet_dir(ss.state_dir), format="parquet", partitioning="hive").to_table()
    assert table.num_rows == N // 2 and set(table["model_version"].to_pylist()) == {CHALLENGER}
    assert set(table["transaction_id"].to_pylist()) == first
    messages = read_topic(engine_env.bootstrap, challenger_topic(ss.topic_predictions))
    assert {msgspec.json.decode(m.value())["transaction_id"] for m in messages} == first
