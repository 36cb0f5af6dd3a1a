"""``fraudguard replay``: publish a public dataset (ULB, Sparkov) or a mapped table to Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, err_console, settings_from_flags
from fraudguard.errors import DataFormatError

if TYPE_CHECKING:  # heavy modules load inside the command, not at ``fraudguard --help``
    from fraudguard.generator.columns import Columns
    from fraudguard.generator.datasets import BadRows
    from fraudguard.generator.schedule import Schedule
    from fraudguard.io.publish import Batch

CHUNK = 20_000


@app.command()
@clean_errors
def replay(
    format: Annotated[str, typer.Option("--format", help="Dataset format: ulb, sparkov or table.")],
    input: Annotated[Path, typer.Option("--input", help="CSV file (or Parquet for --format table).")],
    tps: float | None = typer.Option(None, help="Send at this fixed rate (messages per second)."),
    speed: float | None = typer.Option(None, help="Send at this multiple of the dataset's own pace."),
    mode: str = typer.Option(
        "steady", help="steady, burst (same average rate, in bursts) or late (some events out of order)."
    ),
    late_share: float = typer.Option(0.05, help="late mode: share of events sent late."),
    late_delay: float = typer.Option(120.0, help="late mode: seconds of event time a late event is held back."),
    burst_period: float = typer.Option(5.0, help="burst mode: seconds between bursts."),
    map: str | None = typer.Option(
        None, "--map", help="table format: field=COLUMN pairs, e.g. card_id=cc,time=ts,amount=amt,label=y."
    ),
    start: str | None = typer.Option(
        None, help="ISO time that relative times count from (ULB Time, numeric table times)."
    ),
    seed: int = typer.Option(0, help="Seed choosing the late events."),
    bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers (default KAFKA_BOOTSTRAP_SERVERS)."),
    topic: str | None = typer.Option(None, help="Topic (default FRAUDGUARD_TOPIC_TRANSACTIONS or 'transactions')."),
    progress: bool = typer.Option(True, help="Show a live progress line."),
) -> None:
    """Replay a dataset as JSON transactions keyed by card id, at --tps or --speed.

    Rows that do not fit the transaction schema are skipped and summarised at the end.
    """
    from fraudguard.cli.generate import parse_start
    from fraudguard.generator.dataset_formats import parse_mapping
    from fraudguard.generator.datasets import check_input, read_columns
    from fraudguard.generator.schedule import check_schedule_options, make_schedule
    from fraudguard.io.kafka import check_reachable, ensure_topics, require_bootstrap
    from fraudguard.io.publish import publish

    mapping = parse_mapping(map) if format == "table" else None
    origin = parse_start(start)
    settings = settings_from_flags(kafka_bootstrap_servers=bootstrap, topic_transactions=topic)
    servers = require_bootstrap(settings)
    check_input(format, input)  # typos fail before the broker is contacted
    check_schedule_options(
        tps=tps, speed=speed, mode=mode, late_share=late_share, late_delay=late_delay, burst_period=burst_period
    )
    check_reachable(servers, timeout=5.0)
    cols, bad = read_columns(format, input, mapping, origin)
    sched = make_schedule(
        cols.data["event_time"], tps=tps, speed=speed, mode=mode, late_share=late_share,
        late_delay=late_delay, burst_period=burst_period, seed=seed,
    )  # fmt: skip
    err_console.print(f"read {len(cols):,} transactions from {input}; {bad.summary()}")
    for example in bad.examples[:5]:
        err_console.print(f"  {example}")
    if sched.late.any():
        err_console.print(f"late mode: {int(sched.late.sum()):,} events held back {late_delay:g}s")
    ensure_topics(servers, [settings.topic_transactions], settings.topic_partitions)
    report = publish(
        servers, settings.topic_transactions, _batches(cols, sched, bad), total=len(cols),
        target_rate=tps, progress=progress, console=err_console,
    )  # fmt: skip
    console.print(report.summary())
    if bad.count:
        console.print(f"skipped {bad.summary()}")
    if report.sent == 0 and bad.count:
        raise DataFormatError(f"no valid row in {input}: every row was rejected ({bad.summary()})")


def _batches(cols: Columns, sched: Schedule, bad: BadRows) -> Iterator[Batch]:
    """Send-ordered chunks, each message checked by the schema decoder before it goes out."""
    import numpy as np

    from fraudguard.io.publish import Batch
    from fraudguard.schema import decode_batch

    for i in range(0, len(sched.order), CHUNK):
        chunk = cols.take(sched.order[i : i + CHUNK])
        values, keys = chunk.encode(), chunk.keys()
        offsets = sched.offsets[i : i + CHUNK]
        _, rejected = decode_batch(values)
        if rejected:
            drop = np.zeros(len(values), dtype=bool)
            for j, r in rejected:
                drop[j] = True
                bad.add(f"schema: {r.field}: {r.reason}")
            keep = np.flatnonzero(~drop)
            values, keys, offsets = [values[j] for j in keep], [keys[j] for j in keep], offsets[keep]
        yield Batch(keys, values, offsets)
