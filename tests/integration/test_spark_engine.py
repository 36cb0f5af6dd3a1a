"""The Spark Structured Streaming engine in local mode against a real broker and PostgreSQL.

One SparkSession serves the whole module (start-up costs seconds on two cores). The
Kafka source is the project's Python streaming source unless Spark's connector is on
the classpath.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

pyspark = pytest.importorskip("pyspark")

from fraudguard.config import Settings  # noqa: E402
from fraudguard.engines.local.runner import EngineOptions, build_engine  # noqa: E402
from fraudguard.engines.spark.query import StreamPlan, start_query  # noqa: E402
from fraudguard.engines.spark.session import build_session  # noqa: E402
from fraudguard.engines.spark.writer import BatchWriter  # noqa: E402
from fraudguard.generator import generate_frame  # noqa: E402
from fraudguard.io.kafka import ensure_topics, make_producer  # noqa: E402
from fraudguard.io.sinks.base import SinkSet  # noqa: E402
from fraudguard.io.sinks.dlq import HEADER_FIELD, HEADER_REASON, DeadLetterWriter  # noqa: E402
from fraudguard.io.sinks.kafka import KafkaAlertSink, KafkaPredictionSink  # noqa: E402
from fraudguard.io.sinks.parquet import ParquetSink  # noqa: E402
from fraudguard.io.sinks.postgres import PostgresSink  # noqa: E402
from fraudguard.models.scorer import Scorer  # noqa: E402
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, read_topic  # noqa: E402
from tests.integration.spark_helpers import assert_same_model_scores, predictions_by_id  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.spark]

INVALID = [b"not json at all", b'{"transaction_id": "bad-1", "card_id": "c", "amount": -5}']


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):
    session = build_session("local[2]", work_dir=tmp_path_factory.mktemp("spark"), shuffle_partitions=2)
    yield session
    session.stop()


def spark_settings(env: EngineEnv, tag: str) -> Settings:
    """The same transactions topic, but the Spark run's own output topics and files."""
    s = env.settings
    out = s.model_copy(
        update={
            "topic_predictions": f"{s.topic_predictions}-{tag}",
            "topic_alerts": f"{s.topic_alerts}-{tag}",
            "topic_dlq": f"{s.topic_dlq}-{tag}",
            "state_dir": s.state_dir.parent / f"state-{tag}",
        }
    )
    shutil.copytree(s.models_dir, out.models_dir)
    ensure_topics(env.bootstrap, out.topics, out.topic_partitions)
    return out


def make_plan(settings: Settings, max_offsets: int) -> StreamPlan:
    scorer = Scorer.load(settings.models_dir)
    return StreamPlan(
        bootstrap=settings.kafka_bootstrap_servers or "",
        topic=settings.topic_transactions,
        models_dir=settings.models_dir,
        model_version=scorer.version,
        features=scorer.feature_config,
        max_offsets_per_trigger=max_offsets,
    )


def kafka_writer(settings: Settings, extra_sinks: list | None = None) -> BatchWriter:
    producer = make_producer(settings.kafka_bootstrap_servers or "", log_level=2)  # quiet once the broker stops
    sinks = [
        *(extra_sinks or []),
        ParquetSink(settings.parquet_dir),
        KafkaPredictionSink(producer, settings.topic_predictions),
        KafkaAlertSink(producer, settings.topic_alerts),
    ]
    sink_set = SinkSet(sinks, DeadLetterWriter(producer, settings.topic_dlq))
    sink_set.setup()
    return BatchWriter(sink_set, query_name="fraudguard")


def run_until(query, predicate, timeout_s: float, what: str) -> None:
    """Wait for ``predicate`` while failing fast if the query died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not query.isActive:
            raise AssertionError(f"query stopped: {query.exception()}")
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def alert_ids(bootstrap: str, topic: str) -> set[str]:
    return {msgspec.json.decode(m.value())["transaction_id"] for m in read_topic(bootstrap, topic, idle_s=1.0)}


def test_spark_and_local_engine_give_the_same_predictions_and_alerts(spark, engine_env: EngineEnv, tmp_path: Path):
    # One partition: merchant features count what has *arrived* before a row, so the two
    # engines can only agree when the arrival order is defined (within a partition it is).
    s = engine_env.settings.model_copy(update={"topic_transactions": f"{engine_env.settings.topic_transactions}-p1"})
    ensure_topics(engine_env.bootstrap, [s.topic_transactions], 1)
    engine_env = replace(engine_env, settings=s)
    frame = generate_frame(10_000, fraud_rate=0.05, seed=31, customers=100, merchants=150)
    values, keys = encode_frame(frame)
    publish_values(engine_env.bootstrap, s.topic_transactions, values + INVALID, [*keys, b"x", None])

    stop = threading.Event()
    local = build_engine(
        s, EngineOptions(batch_size=2000, max_wait_ms=200), database_url=engine_env.database_url, stop=stop
    )
    local_stats = local.run(max_messages=len(values) + len(INVALID))
    assert local_stats.dead_letters == len(INVALID)

    ss = spark_settings(engine_env, "spark")
    writer = kafka_writer(ss)
    query, _ = start_query(spark, make_plan(ss, 5000), writer, checkpoint=tmp_path / "ckpt", trigger="500ms")
    try:
        run_until(
            query, lambda: writer.stats.predictions + writer.stats.dead_letters >= len(values) + 2, 600, "all rows"
        )
    finally:
        query.stop()

    local_preds = predictions_by_id(engine_env.bootstrap, s.topic_predictions)
    spark_preds = predictions_by_id(engine_env.bootstrap, ss.topic_predictions)
    ids = assert_same_model_scores(local_preds, spark_preds, set(frame["transaction_id"]))
    np.testing.assert_allclose(
        [spark_preds[i].ensemble_score for i in ids], [local_preds[i].ensemble_score for i in ids], rtol=1e-5, atol=1e-6
    )
    local_alerts = alert_ids(engine_env.bootstrap, s.topic_alerts)
    spark_alerts = alert_ids(engine_env.bootstrap, ss.topic_alerts)
    assert spark_alerts == local_alerts and len(spark_alerts) > 0

    letters = read_topic(engine_env.bootstrap, ss.topic_dlq, idle_s=1.0)
    assert sorted(m.value() for m in letters) == sorted(INVALID)
    for m in letters:
        headers = dict(m.headers())
        assert headers[HEADER_FIELD] and headers[HEADER_REASON], headers
    assert (
        dict(letters[0].headers() if letters[0].value() == INVALID[0] else letters[1].headers())[HEADER_FIELD] == b"$"
    )


def test_restart_from_checkpoint_loses_and_duplicates_nothing(spark, engine_env: EngineEnv, tmp_path: Path):
    frame = generate_frame(3000, fraud_rate=0.05, seed=41, customers=100, merchants=150)
    values, keys = encode_frame(frame)
    ss = spark_settings(engine_env, "restart")
    publish_values(engine_env.bootstrap, ss.topic_transactions, values, keys)
    ckpt = tmp_path / "ckpt"
    plan = make_plan(ss, 750)

    pg = PostgresSink(engine_env.database_url)
    first = kafka_writer(ss, [pg])
    query, _ = start_query(spark, plan, first, checkpoint=ckpt, trigger="200ms")
    try:
        # Spark records a batch in the checkpoint's commit log only after foreachBatch returned:
        # waiting for the writer alone let stop() land in between (1 CI run in 3), and the
        # restart then replayed that batch too, as it should, leaving nothing to tell apart
        # from a restart from scratch.
        run_until(query, lambda: (ckpt / "commits" / "0").exists(), 300, "a batch in the commit log")
    finally:
        query.stop()
    assert first.stats.batches >= 1
    done_first = first.stats.predictions
    assert 0 < done_first < len(values), "the query must be stopped mid-stream"

    second = kafka_writer(ss, [PostgresSink(engine_env.database_url)])
    query, _ = start_query(spark, plan, second, checkpoint=ckpt, trigger="200ms")
    try:
        run_until(
            query,
            lambda: pg_count(engine_env.database_url, "SELECT count(*) FROM fraud_predictions") >= len(values),
            300,
            "every row in PostgreSQL",
        )
        time.sleep(2.0)  # a duplicate, if any, would arrive in the next batch
    finally:
        query.stop()
    assert second.stats.batches > 0 and second.stats.predictions < len(values), "the restart resumed, not restarted"

    url = engine_env.database_url
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == len(values)
    assert pg_count(url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == len(values)
    table = ds.dataset(ss.parquet_dir, format="parquet", partitioning="hive").to_table(columns=["transaction_id"])
    ids = pd.Series(table["transaction_id"].to_pylist())
    assert len(ids) == len(values) and ids.nunique() == len(values)
    kafka_ids = pd.Series(
        [
            msgspec.json.decode(m.value())["transaction_id"]
            for m in read_topic(engine_env.bootstrap, ss.topic_predictions, 1.0)
        ]
    )
    assert set(kafka_ids) == set(frame["transaction_id"])
    # Kafka sinks are at-least-once: a batch interrupted by stop() is produced again.
    assert len(kafka_ids) == len(values) + int(kafka_ids.duplicated().sum())
