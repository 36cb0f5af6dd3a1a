"""Benchmark 2: the local engine from a pre-filled topic through every sink, vs a naive consumer.

Two read paths, always labelled: ``assign()`` (the engine's own cost: Tansu serves group
reads at ~8.5k msg/s at best, so a group read measures the broker) and the consumer group
(``subscribe``, the production path; its time includes the group join). Both write
PostgreSQL, Parquet and the Kafka predictions + alerts topics, and flush all of them
before every commit. Every scenario has its own topics, schema and Parquet directory; the
rows found in PostgreSQL and Parquet afterwards are reported next to the rate, and so is
the CPU each stage spent per transaction (``stages.py``), which a loaded machine does not skew.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from confluent_kafka import TopicPartition

from fraudguard.bench.env import BenchEnv, Payloads
from fraudguard.bench.naive_consumer import run_naive_consumer
from fraudguard.bench.stages import instrument, stage_report
from fraudguard.config import Settings
from fraudguard.models.scorer import Scorer

if TYPE_CHECKING:
    from fraudguard.engines.local.engine import LocalEngine


def count_outputs(settings: Settings) -> dict[str, int]:
    """Prediction rows in the scenario's PostgreSQL schema and Parquet files."""
    import psycopg
    import pyarrow.dataset as ds

    with psycopg.connect(settings.database_dsn or "") as conn:
        row = conn.execute("SELECT count(*) FROM fraud_predictions").fetchone()
    parquet = 0
    if settings.parquet_dir.exists():
        parquet = ds.dataset(settings.parquet_dir, format="parquet", partitioning="hive").count_rows()
    return {"rows_in_postgres": int(row[0]) if row else 0, "rows_in_parquet": int(parquet)}


def bench_engine(settings: Settings, *, batch: int, partitions: list[int] | None, stop: threading.Event) -> LocalEngine:
    """An engine as ``fraudguard stream`` builds it, ``assign()``ed ``partitions`` of the
    transactions topic from offset 0 (``None``: it joins the consumer group), with the
    start-up heap frozen as ``stream`` does before its loop."""
    from fraudguard.engines.local.runner import EngineOptions, build_engine
    from fraudguard.heap import freeze_startup

    engine = build_engine(
        settings, EngineOptions(batch_size=batch, max_wait_ms=200), database_url=settings.database_dsn or "", stop=stop
    )
    if partitions is not None:
        engine.assign = [TopicPartition(settings.topic_transactions, p, 0) for p in partitions]
    freeze_startup()
    return engine


def run_engine_once(env: BenchEnv, payloads: Payloads, *, batch: int, assign: bool) -> dict[str, Any]:
    """Pre-fill a topic with ``payloads`` and let one engine consume all of it; rows/s and counts."""
    settings = env.settings(env.fresh_schema("engine"))
    env.fill(settings.topic_transactions, payloads)
    partitions = list(range(settings.topic_partitions)) if assign else None
    engine = bench_engine(settings, batch=batch, partitions=partitions, stop=threading.Event())
    clock = instrument(engine)
    t0, loop0, cpu0 = time.perf_counter(), time.thread_time(), time.process_time()
    stats = engine.run(max_messages=len(payloads))
    seconds = time.perf_counter() - t0
    loop_cpu, process_cpu = time.thread_time() - loop0, time.process_time() - cpu0
    return {
        "path": "assign() from a pre-filled topic" if assign else "consumer group (subscribe), time includes the join",
        "sinks": [type(getattr(s, "inner", s)).__name__ for s in engine.sinks],
        "rows": stats.consumed,
        "scored": stats.scored,
        "batch": batch,
        "seconds": round(seconds, 3),
        "rows_s": stats.consumed / seconds if seconds > 0 else 0.0,
        "cpu_us_per_tx": stage_report(clock, stats.consumed, loop_cpu, process_cpu),
        **count_outputs(settings),
    }


def run_engine(
    env: BenchEnv,
    scorer: Scorer,
    payloads: Payloads,
    *,
    group_rows: int,
    naive_rows: int,
    batch: int,
    processes: int = 2,
) -> dict[str, Any]:
    """The assign and group paths of the engine, ``processes`` engines side by side (``engine_procs.py``),
    the naive consumer, and the ratio (assign / naive)."""
    from fraudguard.bench.engine_procs import run_engine_processes

    assigned = run_engine_once(env, payloads, batch=batch, assign=True)
    side_by_side = run_engine_processes(env, payloads, processes=processes, batch=batch)
    group = run_engine_once(env, payloads.head(group_rows), batch=batch, assign=False)
    settings = env.settings(env.fresh_schema("naive"))
    env.fill(settings.topic_transactions, payloads.head(naive_rows))
    naive = run_naive_consumer(
        env.bootstrap,
        settings.topic_transactions,
        settings.topic_partitions,
        settings.database_dsn or "",
        scorer,
        naive_rows,
    )
    return {
        "assign": assigned,
        "processes": side_by_side,
        "group": group,
        "naive": naive,
        "rows_s": assigned["rows_s"],
        "ratio_vs_naive": assigned["rows_s"] / naive["rows_s"] if naive["rows_s"] else None,
        "note": (
            "ratio = engine (assign) vs naive consumer (assign); Tansu caps group reads near 8.5k msg/s "
            "(~2k when loaded), so the group figure measures the broker"
        ),
    }
