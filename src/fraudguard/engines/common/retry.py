"""Which failures an engine retries, how long it waits between tries, and the retry loop.

A sink that cannot write (PostgreSQL restarting, the broker gone) or a state store that
cannot answer (Redis) is a passing condition: the engine backs off exponentially and tries
the same, idempotent call again, for as long as it is not asked to stop. Offsets are
committed only once the call has succeeded, so a stop during the retries loses nothing:
the batch is read again and the idempotent sinks absorb the replay. Any other error is a
bug or bad data and is not retried.

(``fraudguard.io.postgres.with_retry`` is a bounded retry for one-off callers; the engines
retry here, without a limit, keeping their consumer group membership while they wait.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fraudguard.errors import BrokerError, DatabaseError, FraudGuardError, SinkError, StateStoreError

log = logging.getLogger("fraudguard.engines.local.engine")  # the engine's log, as before the split
T = TypeVar("T")

RETRYABLE: tuple[type[BaseException], ...] = (BrokerError, DatabaseError, SinkError, StateStoreError)
"""Failures of the services an engine writes to or reads state from: worth trying again."""


class Stopped(FraudGuardError):
    """The engine was asked to stop while it was retrying; the batch was not committed."""


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off: ``base_s``, then twice as long each time, at most ``max_s``."""

    base_s: float = 0.5
    max_s: float = 15.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first failure)."""
        return min(self.max_s, self.base_s * 2 ** (attempt - 1))


def retry_until_stopped(
    fn: Callable[[], T],
    what: str,
    *,
    backoff: Backoff,
    stop: threading.Event,
    wait: Callable[[float], None],
    on_failure: Callable[[BaseException], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds; between failures ``on_failure(error)`` then ``wait(delay)``.

    ``wait`` is the caller's way of passing the time (the local engine keeps polling, so the
    group does not evict it); it should return early once ``stop`` is set, after which
    :class:`Stopped` is raised from the last error. Errors outside :data:`RETRYABLE`
    propagate at once.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except RETRYABLE as e:
            attempt += 1
            delay = backoff.delay(attempt)
            log.warning("%s failed (attempt %d): %s; retrying in %.1fs", what, attempt, e, delay)
            if on_failure is not None:
                on_failure(e)
            wait(delay)
            if stop.is_set():
                raise Stopped(f"stopped while {what}") from e
