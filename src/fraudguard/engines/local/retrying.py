"""The local engine's retry loop: back off, keep the group membership alive, keep messages.

A mixin of :class:`fraudguard.engines.local.engine.LocalEngine`, split out of
``engine.py`` to keep modules short. What is retried and how long to wait is the shared
policy of ``engines/common/retry.py``; what is the local engine's own is how it waits:
its partitions paused, still polling (so the group does not evict it), and keeping any
message delivered meanwhile for the next batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from confluent_kafka import Consumer, KafkaException, Message

from fraudguard.engines.common.retry import Backoff, retry_until_stopped
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
        result = retry_until_stopped(
            fn,
            what,
            backoff=Backoff(self.backoff_s, self.max_backoff_s),
            stop=self.stop_event,
            wait=self._wait,
            on_failure=self._on_retryable_failure,
        )
        if self._paused:
            self._resume()
        return result

    def _on_retryable_failure(self, error: BaseException) -> None:
        self.stats.retries += 1
        self._pause()

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
