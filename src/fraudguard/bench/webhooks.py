"""Webhook delivery figures (a benchmark, not a test: it reports, never asserts).

Scenarios, one delivery worker, a local ``http.server`` receiver verifying every signature:

a. ``steady``  N events queued, receiver healthy: deliveries/s and per-delivery latency;
b. ``flaky``   receiver fails its first 3 requests: attempts used, duplicates accepted;
c. ``outage``  receiver down while N events are queued, then started: time from the
   restart until every event was accepted, events lost, duplicates accepted.

Run with ``fraudguard rules webhook-bench [--events 1000] [--down 30]``; uses an embedded
PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time

import psycopg

from fraudguard.io import pg_outbox, pg_webhooks
from fraudguard.io.broker import free_port
from fraudguard.io.embedded_postgres import EmbeddedPostgres
from fraudguard.io.pg_schema import TABLES, migrate
from fraudguard.webhooks.receiver import Receiver
from fraudguard.webhooks.worker import DeliveryWorker

SECRET = "whsec_bench_0123456789abcdef"


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(TABLES))


def queue(url: str, receiver: Receiver, n: int) -> None:
    with psycopg.connect(url) as conn:
        pg_webhooks.register(conn, receiver.url, ["rule.changed"], "json", SECRET)
        with conn.transaction(), conn.cursor() as cur:
            for i in range(n):
                pg_outbox.enqueue(cur, "rule.changed", {"rule": {"id": i, "name": f"r{i}"}, "change": "updated"})


def drain(worker: DeliveryWorker) -> None:
    while worker.deliver_one():
        pass


def steady(url: str, n: int) -> None:
    reset(url)
    receiver = Receiver(free_port(), SECRET)
    receiver.start()
    queue(url, receiver, n)
    worker = DeliveryWorker(url)
    t0 = time.perf_counter()
    drain(worker)
    dt = time.perf_counter() - t0
    lat = sorted(worker.stats.latencies_s)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(f"steady: {n} events in {dt:.2f}s = {n / dt:,.0f} deliveries/s; HTTP round trip median "
          f"{1000 * statistics.median(lat):.1f} ms, p95 {1000 * p95:.1f} ms; bad signatures {receiver.bad_signatures}")  # fmt: skip
    worker.close()
    receiver.stop()


def flaky(url: str, n: int) -> None:
    reset(url)
    receiver = Receiver(free_port(), SECRET, fail_first=3)
    receiver.start()
    queue(url, receiver, n)
    worker = DeliveryWorker(url, base_backoff_s=0.01, max_backoff_s=0.05)
    while len(receiver.accepted) < n:
        if not worker.deliver_one():
            time.sleep(0.01)
    dup = sum(c - 1 for c in receiver.accepted.values())
    print(f"flaky: {n} events, {worker.stats.attempts} attempts ({worker.stats.failed} failed), "
          f"{len(receiver.accepted)} accepted once each, {dup} duplicates")  # fmt: skip
    worker.close()
    receiver.stop()


def outage(url: str, n: int, down_s: float) -> None:
    reset(url)
    receiver = Receiver(free_port(), SECRET)
    queue(url, receiver, n)
    worker = DeliveryWorker(url, base_backoff_s=0.2, max_backoff_s=5.0, max_attempts=1000, idle_s=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    time.sleep(down_s)
    receiver.start()
    t0 = time.perf_counter()
    while len(receiver.accepted) < n and time.perf_counter() - t0 < 300:
        time.sleep(0.05)
    dt = time.perf_counter() - t0
    worker.stop_event.set()
    thread.join(10)
    dup = sum(c - 1 for c in receiver.accepted.values())
    print(f"outage: receiver down {down_s:.0f}s with {n} events queued ({worker.stats.failed} failed attempts); "
          f"all {len(receiver.accepted)}/{n} accepted {dt:.2f}s after it came back, {n - len(receiver.accepted)} lost, "
          f"{dup} duplicates, {worker.stats.dead} dead")  # fmt: skip
    worker.close()
    receiver.stop()


def run(events: int = 1000, down_s: float = 30.0) -> None:
    """Every scenario against a fresh embedded PostgreSQL; prints one line each."""
    with tempfile.TemporaryDirectory(prefix="fg-bench-webhooks-") as tmp:
        server = EmbeddedPostgres(tmp, database="postgres")
        url = server.start()
        try:
            with psycopg.connect(url) as conn:
                migrate(conn)
            steady(url, events)
            flaky(url, 20)
            outage(url, 200, down_s)
        finally:
            server.stop()
