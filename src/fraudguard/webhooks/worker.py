"""The webhook delivery worker: outbox rows out, signed HTTP POSTs, retries with back-off.

Each delivery is one transaction (see :mod:`fraudguard.io.pg_webhooks`): claim, POST,
record. A 2xx answer marks it delivered; anything else (a status, a timeout, a refused
connection) schedules the next attempt after an exponential back-off with jitter
(``base * 2**(attempt-1)`` capped at ``max_backoff_s``, then a random value between half
and all of it, so endpoints recovering from an outage are not hit in lockstep). After
``max_attempts`` it is ``dead``: listed by the API and the dashboard, re-sendable.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from psycopg.rows import dict_row

from fraudguard.errors import DatabaseError
from fraudguard.io import pg_webhooks
from fraudguard.io.postgres import connect, db_errors, is_broken
from fraudguard.webhooks.payload import body
from fraudguard.webhooks.sign import HEADER, sign

log = logging.getLogger(__name__)


@dataclass
class DeliveryStats:
    attempts: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    latencies_s: list[float] = field(default_factory=list)


class DeliveryWorker:
    """Delivers due webhook events until stopped.

    Parameters
    ----------
    url:
        Database holding the outbox (migrated).
    max_attempts:
        Attempts before a delivery is dead.
    base_backoff_s, max_backoff_s:
        Back-off of the first retry and its cap.
    timeout_s:
        Longest wait for one receiver's answer.
    """

    def __init__(
        self,
        url: str,
        *,
        max_attempts: int = 8,
        base_backoff_s: float = 2.0,
        max_backoff_s: float = 600.0,
        timeout_s: float = 5.0,
        idle_s: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.max_attempts = max_attempts
        self.base_backoff_s, self.max_backoff_s = base_backoff_s, max_backoff_s
        self.idle_s = idle_s
        self.rng = rng or random.Random()
        self.stats = DeliveryStats()
        self.stop_event = threading.Event()
        self._client = httpx.Client(timeout=timeout_s)
        self._conn: Any = None

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based): exponential, capped, jittered."""
        d = min(self.max_backoff_s, self.base_backoff_s * 2 ** (attempt - 1))
        return d / 2 + self.rng.uniform(0, d / 2)

    def _post(self, d: dict[str, Any]) -> tuple[int | None, str | None]:
        payload = body(d["format"], str(d["key"]), d["type"], d["created_at"].isoformat(), d["payload"])
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(d["secret"], payload),
            "Idempotency-Key": str(d["key"]),
            "X-FraudGuard-Event": d["type"],
            "X-FraudGuard-Attempt": str(d["attempts"] + 1),
        }
        try:
            r = self._client.post(d["url"], content=payload, headers=headers)
        except httpx.HTTPError as e:
            return None, f"{type(e).__name__}: {e}"
        return r.status_code, None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"

    def deliver_one(self) -> bool:
        """Deliver (or fail) one due delivery; False when none is due."""
        if is_broken(self._conn):
            self._conn = connect(self.url, application_name="fraudguard-webhooks")
        conn = self._conn
        with db_errors(conn, "delivering a webhook"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            d = pg_webhooks.claim(cur)
            if d is None:
                return False
            started = self._client_clock()
            status, error = self._post(d)
            self.stats.attempts += 1
            if error is None:
                pg_webhooks.mark_delivered(cur, d, status or 200)
                self.stats.delivered += 1
                self.stats.latencies_s.append(self._client_clock() - started)
            else:
                attempt = d["attempts"] + 1
                dead = attempt >= self.max_attempts
                pg_webhooks.mark_failed(cur, d, error, status, self.backoff(attempt), dead)
                self.stats.failed += 1
                self.stats.dead += int(dead)
                log.warning(
                    "webhook to %s failed (attempt %d%s): %s", d["url"], attempt, ", dead" if dead else "", error
                )
        return True

    @staticmethod
    def _client_clock() -> float:
        import time

        return time.perf_counter()

    def run(self) -> DeliveryStats:
        """Deliver until :attr:`stop_event` is set; database outages are retried after a pause."""
        while not self.stop_event.is_set():
            try:
                busy = self.deliver_one()
            except DatabaseError as e:
                log.warning("webhook worker: %s", e)
                busy = False
            if not busy:
                self.stop_event.wait(self.idle_s)
        return self.stats

    def close(self) -> None:
        self._client.close()
        if self._conn is not None:
            self._conn.close()
