"""Local engine throughput and latency (a benchmark, not a test: it reports, never asserts).

Scenarios, all through the real scorer and every sink (PostgreSQL, Parquet, Kafka
predictions + alerts, DLQ):

a. ``assign``  pre-filled topic read with ``assign()`` (engine cost without Tansu's group cap);
b. ``file``    transactions from memory (a file source): decode -> features -> model -> sinks;
c. ``group``   pre-filled topic read through the consumer group (``subscribe``);
d. ``latency`` produce at a steady 1,000 and 5,000 tx/s while the engine runs in the group;
   produce -> decision percentiles from the rows in PostgreSQL.

Usage::

    .venv/bin/python benchmarks/bench_engine.py [--rows 50000] [--batch 5000] [--skip-latency]

Needs a PostgreSQL (FRAUDGUARD_DATABASE_URL, else the local 127.0.0.1:5432 or the embedded
one) and starts its own embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from confluent_kafka import TopicPartition

from fraudguard import schema
from fraudguard.config import Settings, isolated_names
from fraudguard.engines.local.engine import LocalEngine
from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame
from fraudguard.io.broker import EmbeddedBroker, free_port
from fraudguard.io.kafka import ensure_topics
from fraudguard.io.parquet_sink import reuse_prediction_table
from fraudguard.io.publish import Batch, publish, rate_offsets


def _pg_url() -> tuple[str, object | None]:
    url = os.environ.get("FRAUDGUARD_DATABASE_URL")
    if url:
        return url, None
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
        return "postgresql://postgres@127.0.0.1:5432/test", None
    except psycopg.Error:
        from fraudguard.io.embedded_postgres import EmbeddedPostgres

        handle = EmbeddedPostgres(Path(tempfile.mkdtemp()) / "pg")
        return handle.start(), handle


def _schema_url(admin: str) -> str:
    """A fresh schema per scenario so counts do not mix."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in admin else "?"
    return f"{admin}{sep}options=-csearch_path%3D{name}"


def _settings(bootstrap: str, state: Path, url: str) -> Settings:
    tag = uuid.uuid4().hex[:8]
    s = Settings(
        kafka_bootstrap_servers=bootstrap,
        database_url=url,
        state_dir=state,
        topic_partitions=4,
        **isolated_names(tag),
    )
    ensure_topics(bootstrap, s.topics, s.topic_partitions)
    return s


def _fill(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes], tps: float | None = None) -> None:
    offsets = rate_offsets(0, len(values), tps) if tps else None
    publish(
        bootstrap,
        topic,
        [Batch(keys=keys, values=values, offsets=offsets)],
        total=len(values),
        target_rate=tps,
        progress=False,
    )


def _run(s: Settings, url: str, n: int, batch: int, assign: bool) -> tuple[float, dict]:
    stop = threading.Event()
    engine = build_engine(s, EngineOptions(batch_size=batch, max_wait_ms=200), database_url=url, stop=stop)
    if assign:
        engine.assign = [TopicPartition(s.topic_transactions, p, 0) for p in range(s.topic_partitions)]
    t0, c0 = time.perf_counter(), time.process_time()
    stats = engine.run(max_messages=n)
    out = stats.as_dict()
    out["cpu_s"] = time.process_time() - c0
    return time.perf_counter() - t0, out


def _write_sinks(engine: LocalEngine, preds: pd.DataFrame, batch_id: str) -> None:
    with reuse_prediction_table(preds):
        for sink in engine.sinks:
            sink.write(preds, batch_id=batch_id)
    for sink in engine.sinks:
        sink.flush()


def bench_file(s: Settings, url: str, values: list[bytes], batch: int) -> tuple[float, float]:
    """Scenario b: the engine's processing and sinks without a broker read; (wall s, CPU s).

    Pipelined like the engine: batch N is written in one background thread while batch
    N+1 is decoded and scored.
    """
    engine = build_engine(s, EngineOptions(batch_size=batch), database_url=url, stop=threading.Event())
    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(1) as writer:
        pending: Future[None] | None = None
        for i in range(0, len(values), batch):
            good, _bad = schema.decode_batch(values[i : i + batch])
            frame = schema.to_frame(good)
            frame["produced_at"] = frame["event_time"].array
            preds = engine.processor.process(frame, np.zeros(len(frame), np.int32))
            if pending is not None:
                pending.result()
            pending = writer.submit(_write_sinks, engine, preds, f"file-{i}")
        if pending is not None:
            pending.result()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    engine.close()
    return seconds, cpu


def bench_latency(
    bootstrap: str,
    state: Path,
    admin: str,
    values: list[bytes],
    keys: list[bytes],
    tps: float,
    seconds: float,
    batch: int,
) -> dict:
    url = _schema_url(admin)
    s = _settings(bootstrap, state, url)
    n = min(len(values), int(tps * seconds))
    stop = threading.Event()
    engine = build_engine(s, EngineOptions(batch_size=batch, max_wait_ms=50), database_url=url, stop=stop)
    runner = threading.Thread(target=lambda: engine.run(max_messages=n))
    runner.start()
    time.sleep(8)  # group join (Tansu answers JoinGroup after ~half the session timeout)
    _fill(bootstrap, s.topic_transactions, values[:n], keys[:n], tps)
    runner.join(seconds + 120)
    stop.set()
    runner.join(30)
    with psycopg.connect(url) as conn:
        ms = np.array(
            [
                r[0]
                for r in conn.execute(
                    "SELECT (extract(epoch FROM scored_at - produced_at) * 1000)::float8 FROM fraud_predictions"
                )
            ]
        )
    p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if ms.size else (float("nan"),) * 3
    return {"tps": tps, "rows": int(ms.size), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "p99_ms": round(p99, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--models", type=Path, default=None, help="registry to use (default: train a small one)")
    args = ap.parse_args()

    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = EmbeddedBroker(port=free_port()).start()
        bootstrap = broker.bootstrap_servers
    admin, pg = _pg_url()
    state = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    try:
        if args.models:
            (state / "models").symlink_to(args.models.resolve())
        else:
            from fraudguard.models.estimators import TrainConfig
            from fraudguard.models.trainer import train_and_register

            print("training a benchmark model on 60k generated rows ...", flush=True)
            train_and_register(
                generate_frame(60_000, fraud_rate=0.02, seed=3),
                state / "models",
                source={"path": "bench", "format": "frame", "sha256": None},
                cfg=TrainConfig(xgb_trees=100, rf_trees=30, rf_depth=10, if_trees=40),
            )
        frame = generate_frame(max(args.rows, 5_000 * int(args.latency_seconds)), fraud_rate=0.02, seed=4)
        txs = schema.from_frame(frame)
        values = schema.encode_many(txs)
        keys = [t.card_id.encode() for t in txs]
        n = args.rows
        print(f"rows {n:,}, batch {args.batch:,}, CPU cores {os.cpu_count()}")

        for label, assign in (
            ("a. assign() from a pre-filled topic", True),
            ("c. consumer group from a pre-filled topic", False),
        ):
            url = _schema_url(admin)
            s = _settings(bootstrap, state, url)
            _fill(bootstrap, s.topic_transactions, values[:n], keys[:n])
            secs, stats = _run(s, url, n, args.batch, assign)
            print(
                f"{label}: {n / secs:,.0f} tx/s ({secs:.1f}s wall incl. start/join, {stats['cpu_s']:.1f}s CPU; "
                f"scored {stats['scored']:,})",
                flush=True,
            )
        url = _schema_url(admin)
        secs, cpu = bench_file(_settings(bootstrap, state, url), url, values[:n], args.batch)
        print(f"b. file source through every sink: {n / secs:,.0f} tx/s ({secs:.1f}s wall, {cpu:.1f}s CPU)", flush=True)
        if not args.skip_latency:
            for tps in (1_000.0, 5_000.0):
                r = bench_latency(bootstrap, state, admin, values, keys, tps, args.latency_seconds, 2_000)
                print(f"d. latency at {tps:,.0f} tx/s through the group: {r}", flush=True)
    finally:
        if pg is not None:
            pg.stop()  # type: ignore[attr-defined]
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
