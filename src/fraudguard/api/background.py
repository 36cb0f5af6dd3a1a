"""Work the API process does beside requests: open cases from new alerts, deliver webhooks.

Both are plain threads started with the services and stopped with them. Several API
processes may run them at once: case opening takes an advisory lock per round, deliveries
are claimed with ``SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import orjson

from fraudguard.errors import DatabaseError

log = logging.getLogger(__name__)


class CaseOpener:
    """Every ``every_s`` seconds, give new alerts a case and announce touched cases on the hub."""

    def __init__(self, pool: Any, hub: Any, loop: asyncio.AbstractEventLoop, *, every_s: float = 1.0) -> None:
        self.pool, self.hub, self.loop, self.every_s = pool, hub, loop, every_s
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fraudguard-cases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def round(self) -> list[int]:
        from fraudguard.io import pg_cases

        with self.pool.connection() as conn:
            touched = pg_cases.open_cases(conn)
            if touched and self.hub.subscribers("cases"):
                rows = pg_cases.list_cases(conn, limit=len(touched) + 50)
                msgs = [
                    orjson.dumps({"type": "case", "case": r}, default=str).decode() for r in rows if r["id"] in touched
                ]
                self.loop.call_soon_threadsafe(self.hub.publish, "cases", msgs)
        return touched

    def _run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            try:
                self.round()
            except (DatabaseError, Exception) as e:  # the thread must outlive any failure
                log.warning("opening cases failed: %s", e)

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(10)


class WebhookThread:
    """Runs a :class:`~fraudguard.webhooks.worker.DeliveryWorker` in a thread."""

    def __init__(self, url: str) -> None:
        from fraudguard.webhooks.worker import DeliveryWorker

        self.worker = DeliveryWorker(url)
        self._thread = threading.Thread(target=self.worker.run, name="fraudguard-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.worker.stop_event.set()
        self._thread.join(10)
        self.worker.close()
