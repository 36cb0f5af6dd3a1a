"""The Structured Streaming plan: Kafka -> parse -> card state -> merchant state -> score -> sinks.

::

    source (Spark's Kafka connector, or the Python source over confluent-kafka)
      -> mapInPandas(parse)                         transaction columns | rejection
      -> withWatermark(event_time)
      -> groupBy(card_bucket).applyInPandasWithState    card features, EventTimeTimeout
      -> groupBy(merchant_bucket).transformWithStateInPandas merchant features
      -> mapInPandas(score)                         prediction columns + challenger scores (shadow.py)
      -> foreachBatch(BatchWriter)                  sinks + DLQ, idempotent by batch id

Both stateful operators run in append mode; the checkpoint holds the source offsets and
both state stores, so a restart continues where the last committed batch ended.

State is grouped by buckets of keys (``pmod(xxhash64(key), state_buckets)``, see
:mod:`.buckets`) so a micro-batch costs a few Python group calls, not one per card.
``state_buckets=0`` keeps the per-key grouping of :mod:`.stateful` (the same numbers,
slower). The choice and the bucket count are fixed in the checkpoint.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fraudguard.admission import AdmissionPolicy
from fraudguard.engines.spark.buckets import (
    CARD_BUCKET,
    DEFAULT_STATE_BUCKETS,
    MERCHANT_BUCKET,
    MerchantBucketFeatures,
    bucket_column,
    card_bucket_step,
)
from fraudguard.engines.spark.parse import PARSED_DDL, parse_batches
from fraudguard.engines.spark.score import SCORED_DDL, score_step
from fraudguard.engines.spark.session import kafka_connector_available
from fraudguard.engines.spark.stateful import MERCHANT_KEY, STATE_DDL, MerchantFeatures, card_key_step, float_ddl
from fraudguard.errors import ConfigError
from fraudguard.features import INSERTED_COLUMN, FeatureConfig, card_names, merchant_names

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

    from fraudguard.engines.spark.writer import BatchWriter

_TRIGGER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)
_UNIT_MS = {
    **dict.fromkeys(("ms", "millisecond", "milliseconds"), 1),
    **dict.fromkeys(("", "s", "sec", "secs", "second", "seconds"), 1000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60_000),
}


def parse_trigger(text: str) -> str:
    """``2s`` / ``500ms`` / ``1 minute`` -> Spark's interval text (``2000 milliseconds``)."""
    m = _TRIGGER.match(text)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNIT_MS:
        raise ConfigError(f"trigger {text!r} is not an interval such as 2s, 500ms or 1 minute")
    ms = int(float(m.group(1)) * _UNIT_MS[unit])
    if ms <= 0:
        raise ConfigError(f"trigger {text!r} must be positive")
    return f"{ms} milliseconds"


@dataclass(frozen=True)
class StreamPlan:
    """What the query reads and how: built once on the driver."""

    bootstrap: str
    topic: str
    models_dir: Path
    model_version: str
    features: FeatureConfig
    max_offsets_per_trigger: int | None = None
    starting_offsets: str = "earliest"
    watermark_delay_s: int | None = None
    """Event-time lateness Spark tolerates before dropping a row; default: the card TTL
    plus the allowed lateness (older events would find every card window empty)."""
    state_buckets: int = DEFAULT_STATE_BUCKETS
    """Keys per stateful group call are bucketed into this many groups; 0 = one group per
    key (the slow per-key path). Fixed in the checkpoint: change it only with a new one."""
    admission: AdmissionPolicy = field(default_factory=AdmissionPolicy)
    """Event-time skew and extras bounds, as in the local engine (``fraudguard.admission``)."""
    source: str = "auto"
    """``kafka`` (Spark's connector), ``python`` (the project's source) or ``auto`` (the
    connector when it is on the classpath). The two keep different offsets in the
    checkpoint: a checkpoint continues only with the source that wrote it."""


def read_kafka(spark: SparkSession, plan: StreamPlan) -> tuple[DataFrame, str]:
    """The raw Kafka stream and which source provides it (``kafka`` or the Python one)."""
    if plan.source not in ("auto", "kafka", "python"):
        raise ConfigError(f"spark source {plan.source!r} is not auto, kafka or python")
    use_connector = plan.source == "kafka" or (plan.source == "auto" and kafka_connector_available(spark))
    if use_connector:
        if not kafka_connector_available(spark):
            raise ConfigError("spark source 'kafka' asked for, but Spark's Kafka connector is not on the classpath")
        fmt = "kafka"
    else:
        from fraudguard.io.spark_kafka_source import SOURCE_NAME, KafkaDataSource

        spark.dataSource.register(KafkaDataSource)
        fmt = SOURCE_NAME
    reader = (
        spark.readStream.format(fmt)
        .option("kafka.bootstrap.servers", plan.bootstrap)
        .option("subscribe", plan.topic)
        .option("startingOffsets", plan.starting_offsets)
        .option("failOnDataLoss", "false")
    )
    if plan.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(plan.max_offsets_per_trigger))
    raw = reader.load().select("key", "value", "topic", "partition", "offset", "timestamp")
    return raw, fmt


def scored_stream(spark: SparkSession, plan: StreamPlan) -> tuple[DataFrame, str]:
    """The scored streaming DataFrame (prediction + source columns) and the source kind."""
    from pyspark.sql import functions as F
    from pyspark.sql.streaming.state import GroupStateTimeout

    cfg = plan.features
    raw, kind = read_kafka(spark, plan)
    parsed = raw.mapInPandas(functools.partial(parse_batches, policy=plan.admission), PARSED_DDL)
    delay = plan.watermark_delay_s or int(cfg.card_ttl_s + cfg.allowed_lateness_s)
    card_ddl = f"{PARSED_DDL}, {float_ddl([*card_names(cfg), INSERTED_COLUMN])}"
    merchant_ddl = f"{card_ddl}, {float_ddl(merchant_names(cfg))}"
    watermarked = parsed.withWatermark("event_time", f"{delay} seconds")
    timeout = GroupStateTimeout.EventTimeTimeout
    if plan.state_buckets < 0:
        raise ConfigError(f"state_buckets must be >= 0, got {plan.state_buckets}")
    if plan.state_buckets:
        n = plan.state_buckets
        with_cards = (
            watermarked.withColumn(CARD_BUCKET, bucket_column("card_id", n))
            .groupBy(CARD_BUCKET)
            .applyInPandasWithState(card_bucket_step(cfg), card_ddl, STATE_DDL, "append", timeout)
        )
        with_merchants = (
            with_cards.withColumn(MERCHANT_BUCKET, bucket_column("merchant_id", n, empty_is_missing=True))
            .groupBy(MERCHANT_BUCKET)
            .transformWithStateInPandas(MerchantBucketFeatures(cfg), merchant_ddl, "append", "None")
        )
    else:
        with_cards = watermarked.groupBy("card_id").applyInPandasWithState(
            card_key_step(cfg), card_ddl, STATE_DDL, "append", timeout
        )
        with_merchants = (
            with_cards.withColumn(MERCHANT_KEY, F.coalesce(F.col("merchant_id"), F.lit("")))
            .groupBy(MERCHANT_KEY)
            .transformWithStateInPandas(MerchantFeatures(cfg), merchant_ddl, "append", "None")
        )
    scored = with_merchants.mapInPandas(score_step(str(plan.models_dir), plan.model_version), SCORED_DDL)
    return scored, kind


def start_query(
    spark: SparkSession,
    plan: StreamPlan,
    writer: BatchWriter,
    *,
    checkpoint: Path,
    trigger: str = "2 seconds",
    name: str = "fraudguard",
) -> tuple[StreamingQuery, str]:
    """Start the query; returns it and the source kind (``kafka`` or ``fraudguard_kafka``)."""
    scored, kind = scored_stream(spark, plan)
    checkpoint.mkdir(parents=True, exist_ok=True)
    query = (
        scored.writeStream.queryName(name)
        .option("checkpointLocation", str(checkpoint))
        .trigger(processingTime=parse_trigger(trigger))
        .foreachBatch(writer)
        .start()
    )
    return query, kind
