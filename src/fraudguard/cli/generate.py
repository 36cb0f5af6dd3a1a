"""``fraudguard generate``: synthetic transactions to the ``transactions`` topic or to a file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, err_console, settings_from_flags
from fraudguard.errors import ConfigError


def parse_start(value: str | None) -> datetime | None:
    """An ISO-8601 start time (UTC when no offset is given); :class:`ConfigError` if malformed."""
    if value is None:
        return None
    from datetime import UTC

    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ConfigError(f"--start: {value!r} is not an ISO-8601 time (e.g. 2026-01-01T00:00:00Z)") from e
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@app.command()
@clean_errors
def generate(
    tps: float | None = typer.Option(
        None, help="Messages per second to publish (0: as fast as possible); needed unless --to is given."
    ),
    count: int | None = typer.Option(None, help="Number of transactions."),
    duration: float | None = typer.Option(None, help="Seconds to run at --tps (instead of --count)."),
    days: float | None = typer.Option(
        None, help="Simulated days of history to generate (instead of --count): 30-60 give long windows room."
    ),
    fraud_rate: float = typer.Option(0.01, help="Share of fraudulent transactions (0-0.5)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same transactions."),
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Write a .parquet or .jsonl file (as fast as possible) instead of publishing."),
    ] = None,
    customers: int = typer.Option(10_000, help="Simulated cardholders."),
    merchants: int = typer.Option(2_000, help="Simulated merchants."),
    start: str | None = typer.Option(None, help="Simulated start time, ISO-8601 (default 2026-01-01T00:00:00Z)."),
    time_scale: float | None = typer.Option(
        None,
        help="Simulated seconds per wall-clock second at --tps (e.g. 1440: a day in a minute). Default: ~3 purchases per customer a day.",
    ),
    bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers (default KAFKA_BOOTSTRAP_SERVERS)."),
    topic: str | None = typer.Option(None, help="Topic (default FRAUDGUARD_TOPIC_TRANSACTIONS or 'transactions')."),
    progress: bool = typer.Option(True, help="Show a live progress line."),
    scenarios: str = typer.Option(
        "all",
        help="Fraud scenarios: all, short (visible within a day), long (days to weeks) or comma-separated names.",
    ),
    drift: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KIND[:X]",
            help="Shift the stream progressively over the run: amount[:F], category[:S] or fraud-mix[:F] (repeatable).",
        ),
    ] = None,
    drift_days: float | None = typer.Option(None, help="Simulated days the drift ramps over (default: the whole run)."),
) -> None:
    """Generate realistic card transactions with ten fraud scenarios (five long-horizon), paced at --tps.

    Messages are JSON transactions keyed by card id, published to Kafka.

    With --to they go to a file instead (written under a temporary name, renamed when complete).
    """
    import math
    import time

    from fraudguard.generator import DEFAULT_START, GeneratorConfig, TransactionGenerator
    from fraudguard.generator.drift import parse_drift

    if sum(v is not None for v in (count, duration, days)) != 1:
        raise ConfigError("give exactly one of --count or --duration (or --days)")
    if days is not None and not (math.isfinite(days) and days > 0):
        raise ConfigError(f"--days must be a positive number of simulated days, got {days}")
    drifts = tuple(parse_drift(d) for d in drift or ())
    if tps is None:
        if to is None or duration is not None:
            raise ConfigError("give --tps (messages per second; 0 for as fast as possible)")
        tps = 0.0
    if not (math.isfinite(tps) and tps >= 0):
        raise ConfigError(f"--tps must not be negative, got {tps}")
    if duration is not None:
        if tps == 0:
            raise ConfigError("--duration needs a positive --tps")
        if not (math.isfinite(duration) and duration >= 0):
            raise ConfigError(f"--duration must be a finite number of seconds, got {duration}")
        count = round(tps * duration)
    if count is not None and count < 0:
        raise ConfigError(f"--count must not be negative, got {count}")
    config = GeneratorConfig(
        fraud_rate=fraud_rate,
        seed=seed,
        customers=customers,
        merchants=merchants,
        start=parse_start(start) or DEFAULT_START,
        tps=tps or None,
        time_scale=time_scale,
        scenarios=scenarios,
        drift=drifts,
        drift_days=drift_days,
    )
    if days is not None:
        count = round(days * TransactionGenerator(config).rows_per_day)
    assert count is not None
    if to is not None:
        from fraudguard.generator.files import file_format, write_transactions

        file_format(to)
        gen = TransactionGenerator(config)
        t0 = time.perf_counter()
        rows = write_transactions(gen.chunks(count), to)
        secs = time.perf_counter() - t0
        console.print(
            f"wrote {rows:,} transactions to {to} in {secs:.2f}s ({rows / max(secs, 1e-9):,.0f} tx/s generated)"
        )
        return

    from fraudguard.io.kafka import check_reachable, ensure_topics, require_bootstrap
    from fraudguard.io.publish import Batch, publish, rate_offsets

    settings = settings_from_flags(kafka_bootstrap_servers=bootstrap, topic_transactions=topic)
    servers = require_bootstrap(settings)
    check_reachable(servers, timeout=5.0)
    ensure_topics(servers, [settings.topic_transactions], settings.topic_partitions)
    gen = TransactionGenerator(config)
    if gen.time_scale:
        err_console.print(f"time scale: {gen.time_scale:,.0f} simulated seconds per second")

    def batches():  # type: ignore[no-untyped-def]
        done = 0
        for chunk in gen.chunks(count):
            yield Batch(chunk.keys(), chunk.encode(), rate_offsets(done, len(chunk), tps) if tps else None)
            done += len(chunk)

    report = publish(
        servers,
        settings.topic_transactions,
        batches(),
        total=count,
        target_rate=tps or None,
        progress=progress,
        console=err_console,
    )
    console.print(report.summary())
