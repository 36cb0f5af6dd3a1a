"""``fraudguard stream``: score the ``transactions`` topic into every sink, continuously."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags

if TYPE_CHECKING:
    from fraudguard.config import Settings


class EngineKind(StrEnum):
    """Which streaming engine runs."""

    local = "local"
    spark = "spark"


def _spark(settings: Settings, **options: Any) -> None:
    """Dispatch to the Spark engine, imported only when asked for (pyspark is an extra)."""
    from fraudguard.errors import ConfigError

    try:
        from fraudguard.engines.spark import run_spark_engine  # type: ignore[attr-defined]
    except ImportError as e:
        raise ConfigError(
            f"the Spark engine is not available ({e}); install the extra with `pip install fraudguard[spark]` "
            "or use --engine local"
        ) from e
    run_spark_engine(settings, freeze_heap=True, **options)


@app.command()
@clean_errors
def stream(
    engine: Annotated[EngineKind, typer.Option(help="Streaming engine.")] = EngineKind.local,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes in the consumer group (local).")] = 1,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Most messages per micro-batch [FRAUDGUARD_BATCH_SIZE].")
    ] = None,
    max_wait_ms: Annotated[
        int | None, typer.Option(min=1, help="Longest wait to fill a micro-batch [FRAUDGUARD_BATCH_MAX_WAIT_MS].")
    ] = None,
    group: Annotated[str | None, typer.Option(help="Consumer group [FRAUDGUARD_CONSUMER_GROUP].")] = None,
    status_every: Annotated[float, typer.Option(min=0.5, help="Seconds between status lines.")] = 5.0,
    duration: Annotated[float | None, typer.Option(min=0.1, help="Stop by itself after this many seconds.")] = None,
    master: Annotated[
        str | None, typer.Option(help="Spark master, e.g. local[2] or spark://host:7077 [FRAUDGUARD_SPARK_MASTER].")
    ] = None,
    trigger: Annotated[
        str | None, typer.Option(help="Spark trigger interval, e.g. '2 seconds' [FRAUDGUARD_SPARK_TRIGGER].")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Spark checkpoint directory [FRAUDGUARD_SPARK_CHECKPOINT_DIR].")
    ] = None,
    exactly_once: Annotated[
        bool,
        typer.Option(
            "--exactly-once",
            help="Local engine: predictions, alerts and dead letters in Kafka transactions with the offsets.",
        ),
    ] = False,
    max_offsets_per_trigger: Annotated[
        int | None,
        typer.Option(min=1, help="Most records per Spark micro-batch [FRAUDGUARD_SPARK_MAX_OFFSETS_PER_TRIGGER]."),
    ] = None,
    spark_source: Annotated[
        str | None,
        typer.Option(
            "--spark-source",
            help="Spark's Kafka source: kafka (the connector), python, or auto [FRAUDGUARD_SPARK_SOURCE].",
        ),
    ] = None,
) -> None:
    """Score the `transactions` topic into Kafka, PostgreSQL and Parquet, continuously.

    The local engine joins a consumer group and works in micro-batches; `--engine spark`
    runs the Spark Structured Streaming job instead. Predictions go to `predictions`,
    PostgreSQL and Parquet, alerts to `fraud_alerts`, invalid messages to
    `transactions_dlq`. Offsets are committed only after every sink has flushed;
    Ctrl-C / SIGTERM finishes the batch and stops cleanly.
    """
    from fraudguard.engines.local.runner import EngineOptions, run_worker, run_workers

    settings = settings_from_flags(
        consumer_group=group,
        batch_size=batch_size,
        batch_max_wait_ms=max_wait_ms,
        spark_master=master,
        spark_trigger=trigger,
        spark_checkpoint_dir=checkpoint,
        spark_max_offsets_per_trigger=max_offsets_per_trigger,
        spark_source=spark_source,
    )
    if engine is EngineKind.spark:
        if exactly_once:
            from fraudguard.errors import ConfigError

            raise ConfigError("--exactly-once is for the local engine (Spark writes alerts idempotently per batch)")
        _spark(settings, duration=duration, printer=console.print)
        return
    options = EngineOptions(
        batch_size=batch_size,
        max_wait_ms=max_wait_ms,
        group=group,
        status_every_s=status_every,
        max_seconds=duration,
        exactly_once=exactly_once,
    )
    if workers > 1:
        console.print(f"starting {workers} workers in consumer group {settings.consumer_group!r}")
        raise typer.Exit(run_workers(settings, options, workers))
    console.print(
        f"engine joining group {settings.consumer_group!r} on {settings.topic_transactions!r} "
        f"(batch {settings.batch_size}, max wait {settings.batch_max_wait_ms} ms)"
    )
    stats = run_worker(settings, options, printer=console.print)
    console.print(
        f"engine stopped: {stats.scored:,} scored, {stats.alerts:,} alerts, "
        f"{stats.dead_letters:,} dead letters, {stats.commits:,} commits"
    )
