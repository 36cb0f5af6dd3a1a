"""Webhooks against a real local HTTP receiver: signatures, retries, outages, a killed worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from fraudguard.io import pg_outbox, pg_rules, pg_webhooks
from fraudguard.io.broker import free_port
from fraudguard.io.postgres import connect
from fraudguard.webhooks.payload import body
from fraudguard.webhooks.receiver import Receiver
from fraudguard.webhooks.sign import sign, verify
from fraudguard.webhooks.worker import DeliveryWorker
from tests.fixtures.engine import wait_for

pytestmark = pytest.mark.integration
SECRET = "whsec_test_0123456789abcdef"


def setup_endpoint(pg_db: str, receiver: Receiver, fmt: str = "json") -> int:
    with connect(pg_db, autocommit=True) as conn:
        return pg_webhooks.register(conn, receiver.url, ["rule.changed", "case.resolved"], fmt, SECRET)["id"]


def make_events(pg_db: str, n: int, prefix: str = "r") -> None:
    with connect(pg_db, autocommit=True) as conn:
        for i in range(n):
            pg_rules.create_rule(
                conn, {"name": f"{prefix}{i}", "condition": "amount > 1", "action": "review"}, actor="t"
            )


def drain(worker: DeliveryWorker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.deliver_one():
            with psycopg.connect(worker.url) as c:
                if not c.execute("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").fetchone()[0]:
                    return
            time.sleep(0.02)
    raise AssertionError("deliveries still pending")


def event_keys(pg_db: str) -> set[str]:
    with psycopg.connect(pg_db) as c:
        return {str(r[0]) for r in c.execute("SELECT event_id FROM webhook_events WHERE type = 'rule.changed'")}


def test_signature_scheme() -> None:
    payload = body("json", "k", "rule.changed", "2026-01-01T00:00:00Z", {"x": 1})
    header = sign(SECRET, payload, timestamp=1_000_000)
    assert verify(SECRET, header, payload, now=1_000_010)
    assert not verify(SECRET, header, payload + b" ", now=1_000_010)  # tampered body
    assert not verify("another-secret-0000", header, payload, now=1_000_010)
    assert not verify(SECRET, header, payload, now=1_000_000 + 301)  # replayed later
    assert not verify(SECRET, "garbage", payload) and not verify(SECRET, None, payload)


def test_signed_deliveries_and_slack_format(pg_db: str) -> None:
    receiver = Receiver(free_port(), SECRET)
    receiver.start()
    try:
        setup_endpoint(pg_db, receiver, fmt="slack")
        make_events(pg_db, 2)
        worker = DeliveryWorker(pg_db)
        drain(worker)
        worker.close()
    finally:
        receiver.stop()
    assert receiver.bad_signatures == 0 and sorted(receiver.accepted.values()) == [1, 1]
    assert set(receiver.accepted) == event_keys(pg_db)
    first = receiver.bodies[0]
    assert first["text"].startswith(":gear: Rule `r") and first["fraudguard"]["type"] == "rule.changed"


def test_receiver_failing_three_times_gets_each_event_once(pg_db: str) -> None:
    receiver = Receiver(free_port(), SECRET, fail_first=3)
    receiver.start()
    try:
        setup_endpoint(pg_db, receiver)
        make_events(pg_db, 3)
        worker = DeliveryWorker(pg_db, base_backoff_s=0.01, max_backoff_s=0.05)
        drain(worker)
        worker.close()
    finally:
        receiver.stop()
    assert receiver.requests == 6
    assert dict(receiver.accepted) == {k: 1 for k in event_keys(pg_db)}
    with connect(pg_db) as conn:
        rows = pg_webhooks.deliveries(conn)
    assert {r["status"] for r in rows} == {"delivered"} and sum(r["attempts"] for r in rows) == 6


def test_receiver_down_for_a_while_loses_nothing(pg_db: str) -> None:
    receiver = Receiver(free_port(), SECRET)  # not started: connections are refused
    setup_endpoint(pg_db, receiver)
    worker = DeliveryWorker(pg_db, base_backoff_s=0.05, max_backoff_s=1.0, max_attempts=1000, idle_s=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        make_events(pg_db, 5)
        wait_for(lambda: worker.stats.failed >= 10, 30, "the worker to retry against the closed port")
        time.sleep(5)  # the outage lasts a while longer
        receiver.start()
        keys = event_keys(pg_db)
        wait_for(lambda: set(receiver.accepted) == keys, 60, "every event after the outage")
    finally:
        worker.stop_event.set()
        thread.join(10)
        worker.close()
        receiver.stop()
    assert worker.stats.dead == 0 and set(receiver.accepted) == keys


def test_dead_after_n_attempts_then_resent(pg_db: str) -> None:
    receiver = Receiver(free_port(), SECRET, fail_first=2)
    receiver.start()
    try:
        endpoint = setup_endpoint(pg_db, receiver)
        make_events(pg_db, 1)
        worker = DeliveryWorker(pg_db, base_backoff_s=0.01, max_backoff_s=0.02, max_attempts=2)
        drain(worker)
        with connect(pg_db, autocommit=True) as conn:
            (dead,) = pg_webhooks.deliveries(conn, "dead")
            assert dead["attempts"] == 2 and dead["last_error"] == "HTTP 500"
            assert pg_webhooks.resend(conn, dead["event_id"], endpoint)
        drain(worker)
        worker.close()
    finally:
        receiver.stop()
    assert dict(receiver.accepted) == {str(dead["key"]): 1}


WORKER = """
import sys
from fraudguard.webhooks.worker import DeliveryWorker
DeliveryWorker(sys.argv[1], idle_s=0.05).run()
"""


def test_outbox_survives_a_killed_worker(pg_db: str) -> None:
    receiver = Receiver(free_port(), SECRET)
    receiver.hold.clear()  # the first request hangs: the worker dies in the middle of it
    receiver.start()
    try:
        setup_endpoint(pg_db, receiver)
        make_events(pg_db, 4)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen([sys.executable, "-c", WORKER, pg_db], env=env)
        try:
            assert receiver.got_request.wait(60), "the worker never sent"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        receiver.hold.set()
        worker = DeliveryWorker(pg_db)
        drain(worker)
        worker.close()
    finally:
        receiver.stop()
    keys = event_keys(pg_db)
    assert set(receiver.accepted) == keys  # nothing lost
    assert all(n >= 1 for n in receiver.accepted.values())
    with connect(pg_db) as conn:
        assert {r["status"] for r in pg_webhooks.deliveries(conn)} == {"delivered"}


def test_outbox_rolls_back_with_its_transaction(pg_db: str) -> None:
    with connect(pg_db) as conn:
        with pytest.raises(RuntimeError), conn.transaction(), conn.cursor() as cur:
            pg_outbox.enqueue(cur, "rule.changed", {"x": 1})
            raise RuntimeError("the change failed")
        assert conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 0
