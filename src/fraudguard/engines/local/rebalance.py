"""Per-card feature state follows the partition assignment.

Messages are keyed by card, so one card lives in one partition and its state belongs to
the worker that owns the partition. The rule, per state backend:

* **Redis** (``FRAUDGUARD_REDIS_URL`` set): state is shared by every worker; a rebalance
  needs nothing. Features are exact under scale-out.
* **In-process** (default): on *revoke* the cards seen in the revoked partitions are
  deleted (the new owner rebuilds them; stale copies would miss later events). On
  *assign* the state of each newly assigned partition is REBUILT before any of its
  messages is scored: its last ``warmup_s`` seconds (by broker timestamp, at most
  ``max_warmup_messages``) up to the group's committed offset are re-read with a
  group-less ``assign()`` consumer and fed through the feature pipeline with
  ``update=True``, outputs discarded. Accuracy cost: card history older than
  ``warmup_s`` is lost (features with longer windows, the 7-day z-score and
  "seen before" flags, start from the shorter history), and merchant aggregates count only
  the partitions this worker has read, so under ``--workers N`` they see about 1/N of
  the traffic. A brand-new group has nothing committed and nothing to rebuild.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import pandas as pd
from confluent_kafka import Consumer, KafkaException, TopicPartition

from fraudguard import schema

log = logging.getLogger(__name__)


class PartitionState:
    """Keeps in-process card state in step with the assignment (see the module docstring).

    Parameters
    ----------
    warm:
        ``warm(frame)`` feeds a transaction frame into the feature state (``transform``
        with ``update=True``, result ignored).
    forget_cards:
        ``forget_cards(card_ids)`` deletes those cards' state.
    reader_factory:
        Makes a group-less consumer for ``assign()`` reads; ``None`` disables the rebuild.
    shared:
        True for a shared store (Redis): rebalances then change nothing.
    """

    def __init__(
        self,
        warm: Callable[[pd.DataFrame], None],
        forget_cards: Callable[[list[str]], None],
        reader_factory: Callable[[], Consumer] | None,
        *,
        shared: bool = False,
        warmup_s: float = 86_400.0,
        max_warmup_messages: int = 200_000,
        chunk: int = 5_000,
    ) -> None:
        self._warm = warm
        self._forget = forget_cards
        self._reader_factory = reader_factory
        self.shared = shared
        self.warmup_s = warmup_s
        self.max_warmup_messages = max_warmup_messages
        self.chunk = chunk
        self.cards: dict[tuple[str, int], set[str]] = {}
        self.rebuilt_messages = 0

    def observe(self, topic: str, frame: pd.DataFrame, partitions: Sequence[int] | np.ndarray) -> None:
        """Remember which cards each partition carried (to forget them on revoke)."""
        if self.shared or frame.empty:
            return
        parts = np.asarray(partitions)
        cards = frame["card_id"].to_numpy()
        for p in np.unique(parts).tolist():
            self.cards.setdefault((topic, p), set()).update(cards[parts == p].tolist())

    def revoked(self, partitions: list[TopicPartition]) -> None:
        if self.shared:
            return
        gone: list[str] = []
        for tp in partitions:
            gone.extend(self.cards.pop((tp.topic, tp.partition), ()))
        if gone:
            self._forget(gone)
            log.info("forgot state of %d cards from revoked partitions", len(gone))

    def assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.shared or self._reader_factory is None or not partitions:
            return
        try:
            committed = consumer.committed(partitions, timeout=10.0)
        except KafkaException as e:
            log.warning("cannot read committed offsets, partitions start with empty state: %s", e)
            return
        todo = [tp for tp in committed if tp.offset is not None and tp.offset > 0]
        if todo:
            self._rebuild(todo)

    def _rebuild(self, ends: list[TopicPartition]) -> None:
        """Re-read ``[start, committed)`` of each partition and feed it to the feature state."""
        t0 = time.monotonic()
        cutoff_ms = int((time.time() - self.warmup_s) * 1000)
        reader = self._reader_factory() if self._reader_factory else None
        if reader is None:
            return
        total = 0
        try:
            for tp in ends:
                total += self._rebuild_one(reader, tp, cutoff_ms)
        finally:
            reader.close()
        self.rebuilt_messages += total
        log.warning(
            "rebuilt card state of %d partition(s) from %d messages in %.1fs", len(ends), total, time.monotonic() - t0
        )

    def _rebuild_one(self, reader: Consumer, end: TopicPartition, cutoff_ms: int) -> int:
        try:
            low, _high = reader.get_watermark_offsets(TopicPartition(end.topic, end.partition), timeout=10.0)
        except KafkaException:
            low = 0
        start = max(low, end.offset - self.max_warmup_messages)
        reader.assign([TopicPartition(end.topic, end.partition, start)])
        rows: list[bytes] = []
        pos = start
        idle = 0
        while pos < end.offset and idle < 3:
            msgs = reader.consume(min(self.chunk, end.offset - pos), timeout=2.0)
            if not msgs:
                idle += 1
                continue
            for m in msgs:
                if m.error() is not None:
                    continue
                off, value = cast(int, m.offset()), m.value()  # a record: its offset is set
                pos = off + 1
                if off < end.offset and value is not None and m.timestamp()[1] >= cutoff_ms:
                    rows.append(value)
        good, _bad = schema.decode_batch(rows)
        if not good:
            return 0
        frame = schema.to_frame(good).sort_values("event_time", kind="stable").reset_index(drop=True)
        self.observe(end.topic, frame, np.full(len(frame), end.partition))
        for i in range(0, len(frame), self.chunk):
            self._warm(frame.iloc[i : i + self.chunk].reset_index(drop=True))
        return len(good)
