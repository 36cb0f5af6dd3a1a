"""``fraudguard stream --engine spark``: settings in, a running query, progress lines out.

The driver checks the broker and topics, resolves the model version (so every Python
worker scores with the same one), sets up the same sinks as the local engine, starts the
query and prints one line per progress report: input rows/s, processed rows/s, batch
duration, state rows and rows dropped by the watermark. SIGINT / SIGTERM / ``duration``
stop the query between batches; the checkpoint then holds everything a restart needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudguard.admission import AdmissionPolicy
from fraudguard.config import Settings
from fraudguard.errors import FraudGuardError
from fraudguard.io.sinks.base import SinkSet

Printer = Callable[[str], None]


@dataclass
class SparkRunStats:
    """What a run did (driver-side counts from the ``foreachBatch`` writer)."""

    source: str
    model_version: str
    batches: int
    predictions: int
    alerts: int
    dead_letters: int
    startup_s: float
    last_progress: dict[str, Any] | None


def progress_line(progress: dict[str, Any]) -> str:
    """One human line from a ``StreamingQueryProgress`` dict."""
    dur = progress.get("durationMs") or {}
    state = progress.get("stateOperators") or []
    dropped = sum(int(op.get("numRowsDroppedByWatermark", 0) or 0) for op in state)
    state_rows = sum(int(op.get("numRowsTotal", 0) or 0) for op in state)
    return (
        f"batch {progress.get('batchId')}: {progress.get('numInputRows', 0):,} rows, "
        f"input {float(progress.get('inputRowsPerSecond') or 0):,.0f} rows/s, "
        f"processed {float(progress.get('processedRowsPerSecond') or 0):,.0f} rows/s, "
        f"batch {int(dur.get('triggerExecution', 0)) / 1000:.2f}s, state rows {state_rows:,}, "
        f"dropped late {dropped:,}"
    )


def default_sinks(settings: Settings, bootstrap: str, database_url: str) -> SinkSet:
    """The local engine's sinks (PostgreSQL, Parquet, Kafka predictions + alerts) and DLQ, not set up."""
    from fraudguard.io.kafka import make_producer
    from fraudguard.io.sinks.build import build_sinks
    from fraudguard.io.sinks.dlq import PRODUCER_MAX_MESSAGE_BYTES

    overrides: dict[str, Any] = {"message.max.bytes": PRODUCER_MAX_MESSAGE_BYTES}
    producer = make_producer(bootstrap, **overrides)
    return build_sinks(settings, producer, database_url=database_url)


def run_spark_engine(
    settings: Settings,
    *,
    master: str | None = None,
    trigger: str | None = None,
    checkpoint: Path | str | None = None,
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = "earliest",
    duration: float | None = None,
    status_every: float = 5.0,
    sinks: SinkSet | None = None,
    stop: threading.Event | None = None,
    printer: Printer | None = None,
    freeze_heap: bool = False,
    **ignored: Any,
) -> SparkRunStats:
    """Run the Spark Structured Streaming engine until stopped.

    Parameters
    ----------
    master, trigger, checkpoint, max_offsets_per_trigger
        Override ``settings.spark_*`` (``None`` keeps the setting). ``batch_size`` from
        the local engine's flags is taken as ``max_offsets_per_trigger`` when that is unset.
    duration
        Stop by itself after this many seconds (demo, benchmarks).
    sinks
        Set-up sinks and dead-letter writer; ``None`` builds the local engine's
        (PostgreSQL, Parquet, Kafka predictions + alerts, DLQ topic) and its challenger
        sinks (shadow scores: table, Parquet, topic; see :mod:`.shadow`).
    freeze_heap
        Freeze the driver's start-up objects once the query runs (:mod:`fraudguard.heap`):
        for serving processes (``fraudguard stream``, the benchmarks), not tests.
    """
    from fraudguard.engines.common.lifecycle import install_stop_handlers
    from fraudguard.engines.common.models import load_current
    from fraudguard.engines.spark.connector import choose_source, connector_jars
    from fraudguard.engines.spark.query import StreamPlan, start_query
    from fraudguard.engines.spark.session import build_session
    from fraudguard.engines.spark.writer import BatchWriter
    from fraudguard.heap import freeze_startup
    from fraudguard.io.kafka import check_reachable, ensure_topics, require_bootstrap

    say = printer or (lambda line: print(line, flush=True))
    unknown = {
        k for k, v in ignored.items() if v is not None and k not in ("workers", "group", "max_wait_ms", "batch_size")
    }
    if unknown:
        raise FraudGuardError(f"the Spark engine does not understand option(s): {', '.join(sorted(unknown))}")
    if ignored.get("workers") not in (None, 1):
        say("--workers is ignored by the Spark engine: parallelism comes from --master (local[N] or the cluster)")
    max_offsets = max_offsets_per_trigger or ignored.get("batch_size") or settings.spark_max_offsets_per_trigger
    stop = stop or threading.Event()
    install_stop_handlers(stop)
    started = time.perf_counter()

    bootstrap = require_bootstrap(settings)
    cluster_id = check_reachable(bootstrap)
    ensure_topics(bootstrap, settings.topics, settings.topic_partitions)
    scorer = load_current(settings.models_dir)
    import pyspark

    jars = connector_jars(settings.spark_kafka_jars_dir, pyspark.__version__)
    source, why = choose_source(settings.spark_source, jars, cluster_id)
    if why:
        say(f"reading with the Python source ({bootstrap}): {why}")
    plan = StreamPlan(
        bootstrap=bootstrap,
        topic=settings.topic_transactions,
        models_dir=settings.models_dir,
        model_version=scorer.version,
        features=scorer.feature_config,
        max_offsets_per_trigger=max_offsets,
        state_buckets=settings.spark_state_buckets,
        starting_offsets=starting_offsets,
        source=source,
        admission=AdmissionPolicy(settings.max_event_skew_s, settings.max_extras),
    )
    embedded = None
    if sinks is None:
        from fraudguard.io.embedded_postgres import resolve_database_url

        url, embedded = resolve_database_url(settings, allow_embedded=settings.environment == "development")
        sinks = default_sinks(settings, bootstrap, url)
        from fraudguard.engines.spark.shadow import shadow_sinks

        shadow, challenger_sinks = shadow_sinks(settings, url, sinks.dlq.producer if sinks.dlq else None)
        sinks.sinks += challenger_sinks
        sinks.setup()
        from fraudguard.io.rule_watcher import RuleWatcher

        rules = RuleWatcher(url, check_every_s=0)
    else:
        rules, shadow = None, None
    writer = BatchWriter(sinks, query_name="fraudguard", rules=rules, shadow=shadow)
    spark = build_session(
        master or settings.spark_master,
        work_dir=settings.state_dir / "spark",
        shuffle_partitions=settings.spark_shuffle_partitions,
        jars=jars if source == "kafka" else None,
    )
    ckpt = (
        Path(checkpoint)
        if checkpoint
        else (settings.spark_checkpoint_dir or settings.state_dir / "spark" / "checkpoint")
    )
    query, kind = start_query(spark, plan, writer, checkpoint=ckpt, trigger=trigger or settings.spark_trigger)
    startup_s = time.perf_counter() - started
    if freeze_heap:
        freeze_startup()
    say(
        f"spark query on {plan.topic!r} via {kind} source, model {plan.model_version}, checkpoint {ckpt} ({startup_s:.1f}s to start)"
    )
    deadline = None if duration is None else time.monotonic() + duration
    last_reported = None
    jvm_gone = False
    try:
        while query.isActive and not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(min(status_every, max(0.1, (deadline or float("inf")) - time.monotonic())))
            progress = query.lastProgress
            if progress and progress.get("batchId") != last_reported and progress.get("numInputRows"):
                last_reported = progress.get("batchId")
                say(progress_line(progress))
    except Exception:
        # A SIGTERM to the whole process group (systemd, a terminal) also stops the driver
        # JVM, whose shutdown hook stops the query: nothing uncommitted is lost, the
        # checkpoint replays it. Anything else is a real failure.
        if not stop.is_set():
            raise
        jvm_gone = True
    finally:
        try:
            query.stop()
        except Exception:
            jvm_gone = True
        sinks.close()
        if embedded is not None:
            embedded.stop()
    error = None if jvm_gone else query.exception()
    if error is not None:
        raise FraudGuardError(f"the Spark query failed: {str(error).splitlines()[0]}") from None
    s = writer.stats
    say(
        f"spark engine stopped: {s.predictions:,} scored, {s.alerts:,} alerts, {s.dead_letters:,} dead letters in {s.batches} batches"
    )
    last = None if jvm_gone else query.lastProgress
    return SparkRunStats(kind, plan.model_version, s.batches, s.predictions, s.alerts, s.dead_letters, startup_s, last)
