"""Broker loss and return: notice the outage, say so, and re-subscribe when the broker is back.

A broker that restarts may come back empty (Tansu keeps everything in memory; a real
cluster may have lost the group): the member id is unknown, topics are recreated, committed
offsets are gone and the consumer's fetch positions point past the new logs. Before, the
engine kept fetching at those positions, reported "0 tx/s ... lag 0" and consumed nothing
until restarted by hand.

:class:`BrokerWatch` receives the consumer's error events. "All brokers
down" (``_ALL_BROKERS_DOWN``, through the consumer's ``error_cb``) marks an outage (counted in
``EngineStats.broker_outages``, shown by the status line instead of the lag); errors that
say the broker forgot us (unknown member, topic or partition) mark the assignment suspect.
Either way, once a metadata request for the topic succeeds again, the engine re-subscribes:
a fresh group join, positions from the committed offsets (or ``auto.offset.reset``), so
every message produced after the restart is read. Replays are absorbed by the idempotent sinks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException

from fraudguard.engines.local.status import EngineStats

log = logging.getLogger(__name__)

OUTAGE_CODES = frozenset({KafkaError._ALL_BROKERS_DOWN})
"""Not ``_TRANSPORT`` alone: librdkafka reports that for one closed (idle) connection too."""
FORGOTTEN_CODES = frozenset(
    {
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError._UNKNOWN_PARTITION,
    }
)


class BrokerWatch:
    """Outage bookkeeping for one engine; :meth:`maybe_recover` re-subscribes when the broker is back."""

    def __init__(self, stats: EngineStats, topic: str, check_every_s: float = 1.0) -> None:
        self.stats, self.topic, self.check_every_s = stats, topic, check_every_s
        self.suspect = False
        self._last_check = 0.0

    @property
    def down(self) -> bool:
        return self.stats.broker_down_since is not None

    def on_error(self, err: KafkaError) -> None:
        """Take one consumer error event into account."""
        code = err.code()
        if code in OUTAGE_CODES:
            if self.stats.broker_down_since is None:
                self.stats.broker_down_since = time.monotonic()
                self.stats.broker_outages += 1
                log.warning("broker unreachable: %s", err)
        elif code in FORGOTTEN_CODES:
            self.suspect = True

    def maybe_recover(self, consumer: Consumer, resubscribe: Callable[[], None]) -> bool:
        """If an outage or a forgotten assignment was seen and the broker answers again, re-subscribe."""
        if not (self.down or self.suspect):
            return False
        now = time.monotonic()
        if now - self._last_check < self.check_every_s:
            return False
        self._last_check = now
        try:
            meta = consumer.list_topics(self.topic, timeout=1.0)
        except KafkaException:
            return False
        topic = meta.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            return False  # the broker answers but the topic is not back (yet)
        since = self.stats.broker_down_since
        log.warning(
            "broker answers again%s: re-subscribing to %r",
            f" after {now - since:.1f}s" if since is not None else "", self.topic,
        )  # fmt: skip
        self.stats.broker_down_since = None
        self.suspect = False
        resubscribe()
        self.stats.resubscribes += 1
        return True


__all__ = ["FORGOTTEN_CODES", "OUTAGE_CODES", "BrokerWatch"]
