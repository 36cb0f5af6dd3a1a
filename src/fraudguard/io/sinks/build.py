"""Which sinks each writer gets: the one place that wires them from the settings.

The engines (local and Spark) write PostgreSQL, Parquet, the Kafka predictions and alerts
topics and the dead-letter topic; the local engine adds the challenger datasets its
shadow stage fills (a :class:`~fraudguard.io.sinks.challenger.ShadowBuffer`).

The API's recorded calls write the Kafka topics and the challenger scores, and then
PostgreSQL as the set's *ledger*: the API's idempotency check reads ``fraud_predictions``
back, so a row there must mean every other sink has the prediction too (a retry after a
failed publish would otherwise be answered "duplicate" and never published). The API
writes no Parquet and no dead letters (a bad request is a 4xx, not a message).

The producer is the caller's: the engine's carries its error callback and, with
``--exactly-once``, its transactional id; the API's is shared with the generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fraudguard.io.sinks.base import Sink, SinkSet
from fraudguard.io.sinks.challenger import (
    ChallengerKafkaSink,
    ChallengerParquetSink,
    ChallengerPostgresSink,
    DriftKafkaSink,
    ShadowBuffer,
    TransactionParquetSink,
    challenger_parquet_dir,
    challenger_topic,
    drift_topic,
    transactions_parquet_dir,
)
from fraudguard.io.sinks.dlq import DeadLetterWriter
from fraudguard.io.sinks.kafka import KafkaAlertSink, KafkaPredictionSink
from fraudguard.io.sinks.parquet import ParquetSink
from fraudguard.io.sinks.postgres import PostgresSink

if TYPE_CHECKING:
    from fraudguard.config import Settings

API_PUBLISH_TIMEOUT_S = 10.0
"""How long a recorded API call waits for the broker's delivery reports before its 503."""


def build_sinks(settings: Settings, producer: Any, *, database_url: str, shadow: ShadowBuffer | None = None) -> SinkSet:
    """An engine's sinks and DLQ (not yet set up: call :meth:`SinkSet.setup`).

    Parameters
    ----------
    settings
        Topic names and the Parquet / state directories.
    producer
        The Kafka producer the Kafka sinks and the DLQ share.
    database_url
        Where ``fraud_predictions`` (and challenger scores) live.
    shadow
        The local engine's shadow buffer: adds the challenger-score sinks (PostgreSQL,
        Parquet, Kafka), the transaction-history Parquet dataset and the drift topic.
    """
    sinks: list[Sink] = [
        PostgresSink(database_url),
        ParquetSink(settings.parquet_dir),
        KafkaPredictionSink(producer, settings.topic_predictions),
        KafkaAlertSink(producer, settings.topic_alerts),
    ]
    if shadow is not None:
        sinks += [ChallengerPostgresSink(database_url, shadow)] if database_url else []
        sinks += [
            ChallengerParquetSink(challenger_parquet_dir(settings.state_dir), shadow),
            TransactionParquetSink(transactions_parquet_dir(settings.state_dir), shadow),
            ChallengerKafkaSink(producer, challenger_topic(settings.topic_predictions), shadow),
            DriftKafkaSink(producer, drift_topic(settings.topic_predictions), shadow),
        ]
    return SinkSet(sinks, DeadLetterWriter(producer, settings.topic_dlq))


def build_api_sinks(settings: Settings, producer: Any | None, *, shadow: ShadowBuffer | None = None) -> SinkSet:
    """The API's sinks for recorded calls: what is configured of Kafka and PostgreSQL.

    Nothing is set up here: the API migrates the schema at start and the topics exist.
    ``shadow`` adds the challenger-score sinks its :class:`~fraudguard.api.shadow.ApiShadow`
    fills.
    """
    url = settings.database_dsn
    sinks: list[Sink] = []
    if producer is not None:
        sinks += [
            KafkaPredictionSink(producer, settings.topic_predictions, flush_timeout_s=API_PUBLISH_TIMEOUT_S),
            KafkaAlertSink(producer, settings.topic_alerts, flush_timeout_s=API_PUBLISH_TIMEOUT_S),
        ]
    if shadow is not None and producer is not None:
        topic = challenger_topic(settings.topic_predictions)
        sinks.append(ChallengerKafkaSink(producer, topic, shadow, flush_timeout_s=API_PUBLISH_TIMEOUT_S))
    if shadow is not None and url:
        sinks.append(ChallengerPostgresSink(url, shadow))
    ledger = PostgresSink(url, run_migrations=False) if url else None
    return SinkSet(sinks, None, ledger=ledger)
