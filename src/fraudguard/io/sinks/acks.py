"""The broker's delivery reports for one sink's own messages.

A Kafka sink's ``flush`` must mean "the broker acknowledged every message this sink
queued since its last flush", and nothing else. ``Producer.flush`` alone waits for the
producer's whole queue instead, which never drains when the producer is shared with a
busy writer: the API's producer also carries the generator's transactions. So each sink
counts its own messages and their reports, and waits for those, in short ``flush``
slices (a slice also sends what ``linger.ms`` would hold back); an engine's unshared
producer finishes in the first slice that empties its queue, as a plain ``flush`` would.

Counting is per *round* (the messages between two flushes). A flush that gave up ends its
round: reports still arriving for it are ignored, because the caller delivers that batch
again, and only the new round's acknowledgements can vouch for it. A
:class:`~fraudguard.io.renewing_producer.RenewingProducer` that replaced its instance
after a fatal error purged the old one's messages without reporting them: the flush
fails at once instead of waiting them out. Reports may arrive on any thread that polls
the producer (the generator's, in the API), hence the lock.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message

from fraudguard.errors import BrokerError

FLUSH_SLICE_S = 0.01
"""Longest single ``flush`` before the sink checks its own count again."""
FULL_QUEUE_POLL_S = 0.1

OnDelivery = Callable[[KafkaError | None, Message], None]


class DeliveryReports:
    """Messages one sink queued in this round and the broker has not reported yet, and failures.

    Parameters
    ----------
    producer
        The (possibly shared) confluent-kafka producer.
    timeout_s
        How long :meth:`wait` waits for the reports, and :meth:`queue_when_room` for room
        in a full local queue, before :class:`BrokerError`.
    """

    def __init__(self, producer: Any, timeout_s: float) -> None:
        self.producer = producer
        self.timeout_s = timeout_s
        self.pending = 0
        self._round = 0
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._instance = self._renewals()

    def _renewals(self) -> int:
        return int(getattr(self.producer, "renewals", 0))

    def expect(self, n: int) -> OnDelivery:
        """Count ``n`` more messages (negative: fewer were queued); the callback to give them."""
        with self._lock:
            if self.pending == 0:  # a round starts on the producer instance of now
                self._instance = self._renewals()
            self.pending += n
            return functools.partial(self._report, self._round)

    def _report(self, round_: int, err: KafkaError | None, msg: Message) -> None:
        with self._lock:
            if round_ != self._round:
                return  # a round that already ended: its batch is being delivered again
            self.pending -= 1
            if err is not None:
                self._failures.append(str(err))

    def queue(self, topic: str, **kwargs: Any) -> None:
        """Produce one message counted here, waiting for room in a full local queue."""
        callback = self.expect(1)
        try:
            self.queue_when_room(topic, **kwargs, on_delivery=callback)
        except BaseException:
            self.expect(-1)
            raise

    def queue_when_room(self, topic: str, **kwargs: Any) -> None:
        """``produce`` (already counted); on a full queue, let librdkafka drain it, for at most ``timeout_s``."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                self.producer.produce(topic, **kwargs)
                return
            except BufferError:
                if time.monotonic() >= deadline:
                    raise BrokerError(
                        f"the producer's queue stayed full for {self.timeout_s:.0f}s: cannot queue for {topic!r}"
                    ) from None
                self.producer.poll(FULL_QUEUE_POLL_S)
            except Exception as e:  # KafkaException: message too large, unknown topic
                raise BrokerError(f"cannot queue a message for {topic!r}: {e}") from e

    def wait(self, what: str) -> None:
        """Serve the producer until this round's messages are all reported, then start a new round.

        Raises :class:`BrokerError` when some were not acknowledged in time, failed, or were
        purged with a replaced producer. ``what`` names them ("messages for 'predictions'").
        """
        deadline = time.monotonic() + self.timeout_s
        try:
            while self.pending > 0 and self._renewals() == self._instance:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.producer.flush(min(left, FLUSH_SLICE_S))
        finally:
            with self._lock:
                pending, failures = self.pending, self._failures
                self.pending, self._failures, self._round = 0, [], self._round + 1
                renewed, self._instance = self._renewals() != self._instance, self._renewals()
        if pending > 0 and renewed:
            raise BrokerError(f"{pending} {what} were purged with a failed producer; delivering again")
        if pending > 0:
            raise BrokerError(f"{pending} {what} not acknowledged within {self.timeout_s:.0f}s")
        if failures:
            raise BrokerError(f"{len(failures)} {what} failed to reach the broker: {failures[0]}")
