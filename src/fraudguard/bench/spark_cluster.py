"""Benchmark 5b: the Spark engine on a standalone cluster (a master, 2 one-core workers on
loopback) reading with Spark's own Kafka connector.

Three numbers: start-up (cluster ready, then query started), the steady rate over a
pre-filled topic (:func:`fraudguard.bench.spark.run_spark` with ``--master spark://...``)
and produce -> decision latency at a fixed rate. Latency is measured on a warm query: a
small warm-up batch is scored first (executors import pandas, pyarrow and the models on
their first task), then transactions are published at ``latency_tps`` and the latency of
each is ``scored_at - produced_at`` in PostgreSQL, as in the local engine's benchmark.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from fraudguard.bench.env import BenchEnv, Payloads


def _stop_active_session() -> None:
    """The engine leaves its SparkSession running; the next run needs another master."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _pg_rows(url: str, since: float | None = None) -> np.ndarray:
    """Latencies (ms) of rows produced after ``since`` (epoch seconds), or the row count."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT (extract(epoch FROM scored_at - produced_at) * 1000)::float8 FROM fraud_predictions "
            "WHERE produced_at IS NOT NULL AND extract(epoch FROM produced_at) >= %s",
            (since or 0.0,),
        ).fetchall()
    return np.array([r[0] for r in rows], dtype=np.float64)


def run_cluster_latency(
    env: BenchEnv, payloads: Payloads, master: str, *, tps: float, warmup: int, timeout_s: float
) -> dict[str, Any]:
    """Run the engine on ``master``, warm it, publish at ``tps`` and return latency percentiles."""
    from fraudguard.engines.spark.run import run_spark_engine

    settings = env.settings(env.fresh_schema("sparkclat"))
    url = settings.database_dsn or ""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_spark_engine(
                settings,
                master=master,
                trigger="250 milliseconds",
                duration=timeout_s,
                stop=stop,
                printer=lambda line: None,
            )
        except BaseException as e:  # reported below
            errors.append(e)

    warm, rest = (
        Payloads(payloads.values[:warmup], payloads.keys[:warmup]),
        Payloads(payloads.values[warmup:], payloads.keys[warmup:]),
    )
    runner = threading.Thread(target=run, name="bench-spark-cluster", daemon=True)
    runner.start()
    env.fill(settings.topic_transactions, warm)
    deadline = time.monotonic() + timeout_s
    while len(_pg_rows(url)) < len(warm) and time.monotonic() < deadline and not errors:
        time.sleep(0.5)
    t_start = time.time()
    achieved = env.fill(settings.topic_transactions, rest, rate=tps)
    while len(_pg_rows(url, t_start)) < len(rest) and time.monotonic() < deadline and not errors:
        time.sleep(0.5)
    stop.set()
    runner.join(120)
    if errors:
        raise errors[0]
    ms = _pg_rows(url, t_start)
    p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99])) if ms.size else (float("nan"),) * 3
    return {
        "tps": tps,
        "achieved_tps": round(achieved, 1),
        "rows": int(ms.size),
        "sent": len(rest),
        "trigger": "250 milliseconds",
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(float(ms.max()), 1) if ms.size else None,
    }


def run_spark_cluster(
    env: BenchEnv,
    payloads: Payloads,
    latency_payloads: Payloads,
    *,
    max_offsets_per_trigger: int,
    timeout_s: float,
    latency_tps: float = 1_000.0,
    workers: int = 2,
) -> dict[str, Any]:
    """Start the cluster, then the throughput run and the latency run on it; stop it."""
    from fraudguard.bench.spark import run_spark
    from fraudguard.engines.spark.cluster import SparkCluster

    _stop_active_session()
    t0 = time.perf_counter()
    with SparkCluster(env.state_dir / "spark-cluster", workers=workers, cores_per_worker=1) as cluster:
        cluster_start_s = time.perf_counter() - t0
        try:
            throughput = run_spark(
                env,
                payloads,
                max_offsets_per_trigger=max_offsets_per_trigger,
                timeout_s=timeout_s,
                master=cluster.master_url,
            )
        finally:
            _stop_active_session()
        try:
            latency = run_cluster_latency(
                env, latency_payloads, cluster.master_url, tps=latency_tps, warmup=500, timeout_s=timeout_s
            )
        finally:
            _stop_active_session()
    return {
        "workers": workers,
        "cores_per_worker": 1,
        "cluster_start_s": round(cluster_start_s, 2),
        **throughput,
        "latency": latency,
    }
