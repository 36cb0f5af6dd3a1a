"""Benchmark: the local engine on Apache Kafka through a real consumer group.

Tansu caps group reads near 8.5k msg/s, so on it the group figure measures the broker.
Here a 1-node Apache Kafka cluster (the pinned jars, ``io/kafka_cluster.py``) is started
in the run's state directory and the engine reads through ``subscribe`` as in production:

- 1 and 2 workers, each a separate ``fraudguard stream`` process in one group, every sink
  on (PostgreSQL, Parquet, Kafka predictions + alerts), from a pre-filled topic. Two rates
  are reported: overall (start of the processes to the last row in PostgreSQL, so process
  start, model load and group join are inside) and steady (first row to last row);
- produce -> decision latency at the configured rates, read through the group: one engine
  in this process, and two ``fraudguard stream`` processes (each with its own GIL; the
  stream starts once Apache Kafka reports both members holding partitions).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fraudguard.bench.env import BenchEnv, Payloads
from fraudguard.bench.latency import WARMUP_S, run_latency_once, summarize
from fraudguard.bench.publisher import publish_elsewhere
from fraudguard.config import Settings
from fraudguard.errors import FraudGuardError


def _pg_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM fraud_predictions").fetchone()[0])  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            return 0


def run_group_workers(
    env: BenchEnv, payloads: Payloads, *, workers: int, batch: int, timeout_s: float
) -> dict[str, Any]:
    """``workers`` engine processes in one group drain a pre-filled topic; rates and counts."""
    from fraudguard.bench.engine import count_outputs

    settings = env.settings(env.fresh_schema(f"kafka{workers}"))
    env.fill(settings.topic_transactions, payloads)
    url = settings.database_dsn or ""
    n = len(payloads)
    t0 = time.perf_counter()
    procs, logs = _start_workers(settings, workers, batch, f"bench-kafka-{workers}w")
    first = None
    try:
        while (done := _pg_count(url)) < n:
            if first is None and done > 0:
                first = time.perf_counter()
            if time.perf_counter() - t0 > timeout_s or all(p.poll() is not None for p in procs):
                raise FraudGuardError(
                    f"{workers} worker(s) scored {done:,} of {n:,} rows within {timeout_s:.0f}s\n{_tails(procs, logs)}"
                )
            time.sleep(0.05)
        end = time.perf_counter()
    finally:
        _stop_workers(procs)
    first = first or end
    return {
        "workers": workers,
        "path": "consumer group (subscribe), one process per worker",
        "rows": n,
        "batch": batch,
        "seconds": round(end - t0, 3),
        "rows_s": n / (end - t0),
        "steady_rows_s": n / (end - first) if end > first else None,
        **count_outputs(settings),
    }


def _start_workers(
    settings: Settings, workers: int, batch: int, tag: str, max_wait_ms: int | None = None
) -> tuple[list[subprocess.Popen[bytes]], list[Path]]:
    """``workers`` ``fraudguard stream`` processes in the settings' consumer group, logging to files."""
    argv = [sys.executable, "-m", "fraudguard", "stream", "--batch-size", str(batch), "--status-every", "60"]
    if max_wait_ms is not None:
        argv += ["--max-wait-ms", str(max_wait_ms)]
    log_dir = settings.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = [log_dir / f"{tag}-{i}.log" for i in range(workers)]
    procs = []
    for i, log_path in enumerate(logs):
        with log_path.open("wb") as out:  # the child keeps its own descriptor
            procs.append(
                subprocess.Popen(
                    argv,
                    env={**os.environ, **settings.to_env(), "FRAUDGUARD_WORKER_SLOT": str(i)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    return procs, logs


def _stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def _tails(procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> str:
    return "\n".join(
        f"--- worker {i} (exit {p.poll()}): {path}\n" + path.read_text(errors="replace")[-1500:]
        for i, (p, path) in enumerate(zip(procs, logs, strict=True))
    )


def _wait_for_group(bootstrap: str, group: str, workers: int, timeout_s: float) -> None:
    """Return once ``group`` is stable with ``workers`` members, each holding a partition.

    Apache Kafka reports members and assignments (Tansu does not), so the timed stream
    starts only after every worker has joined: no rebalance inside the measurement.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout_s
    seen = "nothing"
    while time.monotonic() < deadline:
        try:
            d = admin.describe_consumer_groups([group])[group].result(timeout=10)
            held = [len(m.assignment.topic_partitions) for m in d.members]
            seen = f"state {d.state.name}, partitions per member {held}"
            if d.state.name == "STABLE" and len(held) == workers and all(held):
                return
        except KafkaException as e:
            seen = str(e)
        time.sleep(0.25)
    raise FraudGuardError(f"group {group!r} did not settle with {workers} members in {timeout_s:.0f}s ({seen})")


def run_latency_workers(
    env: BenchEnv,
    payloads: Payloads,
    tps: float,
    *,
    workers: int,
    batch: int = 2_000,
    max_wait_ms: int = 50,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Produce->decision latency with ``workers`` engine processes in one group (every sink),
    batch bounds as the in-process run's."""
    settings = env.settings(env.fresh_schema(f"latency{workers}w"))
    url = settings.database_dsn or ""
    n = len(payloads)
    procs, logs = _start_workers(settings, workers, batch, f"bench-latency-{workers}w-{int(tps)}", max_wait_ms)
    try:
        try:
            _wait_for_group(env.bootstrap, settings.consumer_group, workers, timeout_s)
        except FraudGuardError as e:
            raise FraudGuardError(f"{e}\n{_tails(procs, logs)}") from e
        achieved = publish_elsewhere(env.bootstrap, settings.topic_transactions, payloads.values, payloads.keys, tps)
        deadline = time.monotonic() + timeout_s
        while (done := _pg_count(url)) < n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise FraudGuardError(f"{workers} workers scored {done:,} of {n:,} rows\n{_tails(procs, logs)}")
            time.sleep(0.1)
    finally:
        _stop_workers(procs)
    return {**summarize(url, tps, achieved, n, f"consumer group, {workers} worker processes"), "workers": workers}


def run_kafka(
    env: BenchEnv,
    payloads: Payloads,
    *,
    rates: list[float],
    latency_seconds: float,
    batch: int,
    rows: int,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Start a 1-node Apache Kafka, run the group scenarios and the latency runs on it, stop it."""
    from fraudguard.io.kafka_cluster import KAFKA_VERSION, KafkaCluster, default_kafka_lib

    cluster = KafkaCluster(env.state_dir / "kafka", default_kafka_lib(), brokers=1).start(timeout=180)
    try:
        kenv = dataclasses.replace(env, bootstrap=cluster.bootstrap_servers, _broker=None, _pg=None, _own_dir=False)
        group = [
            run_group_workers(kenv, payloads.head(rows), workers=w, batch=batch, timeout_s=timeout_s) for w in (1, 2)
        ]
        latency_2w = [
            run_latency_workers(kenv, payloads.head(int(tps * (latency_seconds + WARMUP_S))), tps, workers=2)
            for tps in rates
        ]
        latency = [
            run_latency_once(
                kenv,
                payloads.head(int(tps * (latency_seconds + WARMUP_S))),
                tps,
                batch=2_000,
                max_wait_ms=50,
                group=True,
            )
            for tps in rates
        ]
    finally:
        cluster.stop()
    return {
        "broker": f"Apache Kafka {KAFKA_VERSION}, 1 KRaft node on loopback",
        "group": group,
        "latency": latency,
        "latency_2_workers": latency_2w,
        "rows_s": group[0]["rows_s"],
    }
