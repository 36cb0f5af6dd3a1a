"""``fraudguard stream``: score the ``transactions`` topic into every sink, continuously."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags


class EngineKind(StrEnum):
    """Which streaming engine runs."""

    local = "local"
    spark = "spark"


def _spark(settings: object, **options: object) -> None:
    """Dispatch to the Spark engine, imported only when asked for (pyspark is an extra)."""
    from fraudguard.errors import ConfigError

    try:
        from fraudguard.engines.spark import run_spark_engine  # type: ignore[attr-defined]
    except ImportError as e:
        raise ConfigError(
            f"the Spark engine is not available ({e}); install the extra with `pip install fraudguard[spark]` "
            "or use --engine local"
        ) from e
    run_spark_engine(settings, **options)


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
) -> None:
    """Join the consumer group on `transactions`, score micro-batches with the registry's
    current model and write predictions to Kafka, PostgreSQL and Parquet, alerts to
    `fraud_alerts` and invalid messages to `transactions_dlq`. Offsets are committed only
    after every sink has flushed; Ctrl-C / SIGTERM finishes the batch and stops cleanly."""
    from fraudguard.engines.local.runner import EngineOptions, run_worker, run_workers

    settings = settings_from_flags(consumer_group=group, batch_size=batch_size, batch_max_wait_ms=max_wait_ms)
    if engine is EngineKind.spark:
        _spark(
            settings, workers=workers, batch_size=batch_size, max_wait_ms=max_wait_ms, group=group, duration=duration
        )
        return
    options = EngineOptions(
        batch_size=batch_size, max_wait_ms=max_wait_ms, group=group, status_every_s=status_every, max_seconds=duration
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
