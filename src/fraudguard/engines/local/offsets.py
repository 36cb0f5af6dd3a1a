"""Offset commits and consumer lag.

Commits are synchronous and name the NEXT offset per partition explicitly (last processed
offset + 1), and they happen only after every sink has flushed: a crash anywhere before
the commit replays the batch, which the idempotent sinks absorb.

Lag per partition is ``high watermark - next offset``. The high watermark comes from
``get_watermark_offsets(tp, cached=True)``, which librdkafka updates from each FETCH
response: correct on Apache Kafka and on the embedded Tansu broker, whose ListOffsets
answer is wrong (docs/machine-notes.md). Partitions not fetched yet count no lag until they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from fraudguard.errors import BrokerError

log = logging.getLogger(__name__)

_REBALANCED = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError._ASSIGNMENT_LOST,
    KafkaError._NO_OFFSET,
}
"""Commit errors meaning "these partitions moved on": the new owner replays, nothing is lost."""


def commit_offsets(consumer: Consumer, offsets: Mapping[tuple[str, int], int]) -> bool:
    """Commit ``offsets`` synchronously; False when a rebalance made the commit moot.

    Raises :class:`BrokerError` for errors worth retrying (broker unreachable, timeout).
    """
    if not offsets:
        return True
    tps = [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
    try:
        result = consumer.commit(offsets=tps, asynchronous=False)
    except KafkaException as e:
        err = e.args[0] if e.args else None
        if isinstance(err, KafkaError) and err.code() in _REBALANCED:
            log.warning("offset commit skipped after a rebalance (%s): the batch will be replayed idempotently", err)
            return False
        raise BrokerError(f"offset commit failed: {e}") from e
    failed = [tp for tp in result or [] if tp.error is not None]
    if failed:
        codes = {tp.error.code() for tp in failed if tp.error is not None}
        if codes <= _REBALANCED:
            log.warning("offset commit refused for %d partition(s) after a rebalance", len(failed))
            return False
        raise BrokerError(f"offset commit failed for {len(failed)} partition(s): {failed[0].error}")
    return True


class LagTracker:
    """Next offset and last fetched high watermark per partition."""

    def __init__(self) -> None:
        self.position: dict[tuple[str, int], int] = {}
        self.high: dict[tuple[str, int], int] = {}

    def observe(self, consumer: Consumer, offsets: Mapping[tuple[str, int], int]) -> None:
        """Record the batch's next offsets and refresh cached watermarks of assigned partitions."""
        self.position.update(offsets)
        try:
            assigned = consumer.assignment()
        except KafkaException:
            return
        for tp in assigned:
            key = (tp.topic, tp.partition)
            try:
                _low, high = consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if high is not None and high >= 0:
                self.high[key] = high
        # a message we fetched proves the end is at least past it, whatever the cache says
        for key, nxt in offsets.items():
            if self.high.get(key, -1) < nxt:
                self.high[key] = nxt

    def forget(self, keys: list[tuple[str, int]]) -> None:
        """Drop revoked partitions (their lag is the new owner's)."""
        for k in keys:
            self.position.pop(k, None)
            self.high.pop(k, None)

    def lag(self) -> int:
        """Messages behind the end, summed over partitions with a known high watermark."""
        total = 0
        for key, high in self.high.items():
            pos = self.position.get(key)
            if pos is not None:
                total += max(0, high - pos)
        return total
