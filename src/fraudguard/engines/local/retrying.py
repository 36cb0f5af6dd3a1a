"""The local engine's retry loop: back off, keep the group membership alive, keep messages.

A mixin of :class:`fraudguard.engines.local.engine.LocalEngine`, split out of
``engine.py`` to keep modules short; it reads the engine's consumer, stats, stop event,
back-off settings, carried messages and broker watch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from confluent_kafka import Consumer, KafkaException, Message

from fraudguard.engines.local.contracts import RETRYABLE, Stopped
from fraudguard.engines.local.recovery import BrokerWatch
from fraudguard.engines.local.status import EngineStats

log = logging.getLogger("fraudguard.engines.local.engine")
T = TypeVar("T")


class RetryMixin:
    """Retries with exponential back-off while the partitions stay paused (see ``engine.py``)."""

    consumer: Consumer
    stats: EngineStats
    stop_event: threading.Event
    backoff_s: float
    max_backoff_s: float
    watch: BrokerWatch
    _carry: list[Message]
    _paused: bool

    if TYPE_CHECKING:  # provided by the engine

        def _report(self) -> None: ...

        def _detach_if_down(self) -> None: ...

    # --- retries ------------------------------------------------------------------
    def _retry(self, fn: Callable[[], T], what: str) -> T:
        """Call ``fn`` until it succeeds, pausing consumption and backing off between tries."""
        attempt = 0
        while True:
            try:
                result = fn()
            except RETRYABLE as e:
                attempt += 1
                self.stats.retries += 1
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                log.warning("%s failed (attempt %d): %s; retrying in %.1fs", what, attempt, e, delay)
                self._pause()
                self._wait(delay)
                if self.stop_event.is_set():
                    raise Stopped(f"stopped while {what}") from e
                continue
            if self._paused:
                self._resume()
            return result

    def _pause(self) -> None:
        if self._paused:
            return
        try:
            self.consumer.pause(self.consumer.assignment())
            self._paused = True
        except KafkaException as e:
            log.warning("cannot pause partitions: %s", e)

    def _resume(self) -> None:
        try:
            self.consumer.resume(self.consumer.assignment())
        except KafkaException as e:
            log.warning("cannot resume partitions: %s", e)
        self._paused = False

    def _wait(self, seconds: float) -> None:
        """Sleep while serving the group protocol; keep any message delivered meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            self._detach_if_down()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            msg = self.consumer.poll(min(remaining, 0.5))
            err = msg.error() if msg is not None else None
            if msg is not None and err is None:
                self._carry.append(msg)
            elif err is not None:
                self.watch.on_error(err)
            self._report()  # the status line keeps saying what is going on (an outage, retries)
