"""Benchmark 3: end-to-end latency, produce -> decision, at a steady rate through the broker.

The engine (every sink) runs in a thread reading the topic from offset 0; this thread
then publishes at a fixed rate with the project's scheduled publisher. Latency is
``scored_at - produced_at`` of every row in PostgreSQL: the broker timestamp of the
transaction message (set when it was produced) to the moment its batch was scored, so
the producer's linger, the broker, the batch wait and scoring are all inside it.

The publisher runs in a process of its own (``bench/publisher.py``), as a payment gateway
would. The first second of rows is reported apart (``warmup_max_ms``) and
left out of the percentiles: an idempotent librdkafka producer holds its first messages
for about 500 ms until the broker has given it a producer id, which says nothing about the
engine.

The engine reads with ``assign()`` by default: Tansu's group reads cap near 8.5k msg/s
(2k when the machine is loaded), which at 5,000 tx/s would measure the broker's queue,
not the engine. ``group=True`` measures the production path instead.

Each rate's run is followed by its baseline, the broker alone (:func:`run_floor_once`): a
bare consumer (``assign()`` on every partition, the engine's consumer settings and poll
slice, no decoding, scoring or sinks) stamps each message's arrival against its broker
timestamp while the same publisher sends the same payloads at the same rate. The engine
cannot be faster than this, and the floor depends on the broker: Tansu answers a fetch that
finds nothing new only when ``fetch.wait.max.ms`` ends, so a caught-up consumer sees a
message on average half that wait late; Apache Kafka wakes the fetch when data arrives.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from confluent_kafka import TopicPartition

from fraudguard.bench.env import BenchEnv, Payloads
from fraudguard.bench.publisher import publish_elsewhere
from fraudguard.engines.local.batching import POLL_SLICE_S
from fraudguard.heap import freeze_startup
from fraudguard.io.kafka import make_consumer

WARMUP_S = 1.0
"""Rows produced in the run's first second are reported apart (see the module docstring)."""


def _latencies_ms(database_url: str) -> tuple[np.ndarray, np.ndarray]:
    """Latency of every row in ms, and its production time in s from the first row's."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT (extract(epoch FROM scored_at - produced_at) * 1000)::float8, "
            "extract(epoch FROM produced_at - min(produced_at) OVER ())::float8 FROM fraud_predictions "
            "WHERE produced_at IS NOT NULL"
        ).fetchall()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def run_latency_once(
    env: BenchEnv, payloads: Payloads, tps: float, *, batch: int, max_wait_ms: int, group: bool = False
) -> dict[str, Any]:
    """Publish ``payloads`` at ``tps`` while the engine runs; latency percentiles in ms."""
    from fraudguard.engines.local.runner import EngineOptions, build_engine

    settings = env.settings(env.fresh_schema("latency"))
    url = settings.database_dsn or ""
    stop = threading.Event()
    engine = build_engine(
        settings, EngineOptions(batch_size=batch, max_wait_ms=max_wait_ms), database_url=url, stop=stop
    )
    if not group:
        engine.assign = [TopicPartition(settings.topic_transactions, p, 0) for p in range(settings.topic_partitions)]
    freeze_startup()  # as ``fraudguard stream`` does before its loop
    n = len(payloads)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            engine.run(max_messages=n)
        except BaseException as e:  # reported below; the thread must not die silently
            errors.append(e)

    runner = threading.Thread(target=run, name="bench-latency-engine", daemon=True)
    runner.start()
    if group:
        time.sleep(8)  # Tansu answers JoinGroup after about half the session timeout
    else:
        time.sleep(0.5)
    achieved = publish_elsewhere(env.bootstrap, settings.topic_transactions, payloads.values, payloads.keys, tps)
    runner.join(n / tps + 60)
    stop.set()
    runner.join(30)
    if errors:
        raise errors[0]
    return summarize(url, tps, achieved, n, "consumer group" if group else "assign()")


def summarize(database_url: str, tps: float, achieved: float, sent: int, read_path: str) -> dict[str, Any]:
    """Percentiles of every row's latency in PostgreSQL after the warm-up second, and the warm-up's max."""
    every, since = _latencies_ms(database_url)
    ms, warm = every[since >= WARMUP_S], every[since < WARMUP_S]
    return {
        "tps": tps,
        "achieved_tps": round(achieved, 1),
        "read_path": read_path,
        "rows": int(every.size),
        "warmup_rows": int(warm.size),
        "warmup_max_ms": round(float(warm.max()), 1) if warm.size else None,
        "sent": sent,
        **percentiles_ms(ms),
        "warmup_s": WARMUP_S,
    }


def percentiles_ms(ms: np.ndarray) -> dict[str, float | None]:
    """``p50_ms`` / ``p95_ms`` / ``p99_ms`` / ``max_ms`` of latencies in ms (NaN and None when empty)."""
    p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99])) if ms.size else (float("nan"),) * 3
    top = round(float(ms.max()), 1) if ms.size else None
    return {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "p99_ms": round(p99, 1), "max_ms": top}


def run_floor_once(env: BenchEnv, payloads: Payloads, tps: float) -> dict[str, Any]:
    """Arrival latency percentiles (ms) of ``payloads`` published at ``tps``, after the warm-up second."""
    settings = env.settings("")
    consumer = make_consumer(env.bootstrap, None)
    consumer.assign([TopicPartition(settings.topic_transactions, p, 0) for p in range(settings.topic_partitions)])
    arrivals: list[tuple[float, int]] = []
    published = threading.Event()

    def receive() -> None:
        give_up = float("inf")  # 30 s after publishing ended, stop waiting for the rest
        while len(arrivals) < len(payloads) and time.monotonic() < give_up:
            if published.is_set() and give_up == float("inf"):
                give_up = time.monotonic() + 30
            # the engine's poll slice, so both see arrivals at the same granularity
            for m in consumer.consume(1_000, timeout=POLL_SLICE_S):
                kind, stamp = m.timestamp()
                if m.error() is None and kind:
                    arrivals.append((time.time() * 1000.0, stamp))

    reader = threading.Thread(target=receive, name="bench-floor-consumer", daemon=True)
    reader.start()
    try:
        time.sleep(0.5)
        achieved = publish_elsewhere(env.bootstrap, settings.topic_transactions, payloads.values, payloads.keys, tps)
    finally:
        published.set()
        reader.join(40)  # the reader gives up 30 s after publishing ended
        consumer.close()
    got = np.array(arrivals, dtype=np.float64).reshape(-1, 2)
    since = (got[:, 1] - got[:, 1].min()) / 1000.0 if len(got) else np.zeros(0)
    ms = (got[:, 0] - got[:, 1])[since >= WARMUP_S]
    return {
        "tps": tps,
        "achieved_tps": round(achieved, 1),
        "sent": len(payloads),
        "received": len(got),
        **percentiles_ms(ms),
    }


def run_latency(
    env: BenchEnv, payloads: Payloads, rates: list[float], seconds: float, *, batch: int = 2_000, max_wait_ms: int = 50
) -> dict[str, Any]:
    """One steady run per rate, ``seconds`` long after the warm-up (fewer if ``payloads`` runs out),
    each followed by its baseline: the broker's own latency at that rate (:func:`run_floor_once`)."""
    runs, floor = [], []
    for tps in rates:
        head = payloads.head(int(tps * (seconds + WARMUP_S)))
        runs.append(run_latency_once(env, head, tps, batch=batch, max_wait_ms=max_wait_ms))
        floor.append(run_floor_once(env, head, tps))  # after: the engine's runs as before
    return {
        "runs": runs,
        "broker_floor": floor,
        "seconds_per_rate": seconds,
        "batch": batch,
        "max_wait_ms": max_wait_ms,
    }
