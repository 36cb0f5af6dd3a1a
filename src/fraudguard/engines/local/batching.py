"""Micro-batches from a consumer: poll, decode, validate, de-duplicate.

A batch is at most ``batch_size`` messages gathered for at most ``max_wait_s`` after the
poll starts (``consume(n, timeout)`` returns as soon as either is reached). Decoding turns
it into a transaction frame for the scoring core plus dead letters for the DLQ; nothing
in a batch stops the stream.

Duplicates: within a batch the first occurrence of a ``transaction_id`` is kept. Across
batches a bounded map of recently seen ids and their content (:class:`RecentIds`)
catches replays by the producer; a duplicate goes to the DLQ with reason ``duplicate
transaction_id`` when its content is the same, ``duplicate_conflict`` when it differs
(the first version is kept), so every input message is accounted for (a prediction or a
dead letter). Ids older than the map's capacity, or seen by another worker before a
rebalance, reach the sinks again and are absorbed there (PostgreSQL: ``DO NOTHING``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import cast

import numpy as np
import pandas as pd
from confluent_kafka import Consumer, KafkaError, Message

from fraudguard import schema
from fraudguard.admission import AdmissionPolicy, bound_extras, content_key
from fraudguard.io.sinks.dlq import DeadLetter

log = logging.getLogger(__name__)

DUPLICATE_REASON = "duplicate transaction_id"
CONFLICT_REASON = "duplicate_conflict"


class RecentIds:
    """The last ``capacity`` transaction ids with a hash of their content (oldest evicted first)."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._ids: dict[str, int] = {}

    def __contains__(self, tid: object) -> bool:
        return tid in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def contains_many(self, ids: list[str]) -> np.ndarray:
        """Per id, whether it is held (one C-level pass over the ids)."""
        return np.fromiter(map(self._ids.__contains__, ids), bool, len(ids))

    def content(self, tid: str) -> int | None:
        """Content hash the id was first seen with (``None``: not seen)."""
        return self._ids.get(tid)

    def add_many(self, ids: list[str], contents: list[int] | None = None) -> None:
        """Remember ``ids`` (and their content hashes), evicting the oldest beyond capacity."""
        self._ids.update(zip(ids, contents, strict=True) if contents is not None else dict.fromkeys(ids, 0))
        excess = len(self._ids) - self.capacity
        if excess > 0:
            for k in list(islice(self._ids, excess)):
                del self._ids[k]

    def forget(self, ids: list[str]) -> None:
        """Drop ``ids``: their batch was rolled back (an aborted transaction), so when it is read
        again it must be scored and produced again, not dead-lettered as duplicates."""
        for tid in ids:
            self._ids.pop(tid, None)


@dataclass
class DecodedBatch:
    """One polled batch after decoding: what to score, what to dead-letter, where it ends."""

    messages: list[Message]
    frame: pd.DataFrame
    """Valid, de-duplicated transactions (:data:`schema.FRAME_COLUMNS` + ``produced_at``)."""
    partitions: np.ndarray
    """Source partition of each frame row (card state follows partitions)."""
    row_messages: list[Message] = field(default_factory=list)
    """The message of each frame row (a row failing after decoding is dead-lettered with it)."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    extras_dropped: int = 0
    """Extras (name, value) pairs dropped by the admission policy (admission.py)."""
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """Next offset to commit per (topic, partition): last offset in the batch + 1."""
    first_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def batch_id(self) -> str:
        """Stable name of the batch for idempotent sinks: ``<topic>-p<part>o<first>-<last>_...``."""
        parts = [f"p{p}o{self.first_offsets[(t, p)]}-{self.offsets[(t, p)] - 1}" for (t, p) in sorted(self.offsets)]
        topic = next(iter(self.offsets))[0] if self.offsets else "empty"
        return f"{topic}-{'_'.join(parts)}"


def poll_batch(
    consumer: Consumer, max_messages: int, max_wait_s: float, on_error: Callable[[KafkaError], None] | None = None
) -> list[Message]:
    """Up to ``max_messages`` messages within about ``max_wait_s`` (fewer when the topic is idle).

    Broker-side error events (``msg.error()``) are not records: they are logged and given
    to ``on_error`` (the engine's outage watch, ``recovery.py``).
    """
    out: list[Message] = []
    deadline = time.monotonic() + max_wait_s
    while len(out) < max_messages:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        msgs = consumer.consume(max_messages - len(out), timeout=remaining)
        for m in msgs:
            err = m.error()
            if err is None:
                out.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", err)
                if on_error is not None:
                    on_error(err)
        if not msgs:
            break
    return out


POLL_SLICE_S = 0.005
"""How long one ``consume`` in :func:`poll_while_busy` may wait: how often it looks whether
the sinks are free (the latency benchmark's broker-alone baseline polls with it too)."""


def poll_while_busy(
    consumer: Consumer,
    max_messages: int,
    max_wait_s: float,
    busy: Callable[[], bool],
    slice_s: float = POLL_SLICE_S,
    on_error: Callable[[KafkaError], None] | None = None,
) -> list[Message]:
    """Like :func:`poll_batch`, but sized by the sinks instead of by the clock.

    Polls in short slices. While ``busy()`` (the previous batch is still being written)
    it keeps gathering, since the batch could not be scored into the sinks any sooner;
    once the sinks are free it returns as soon as anything has arrived. So a quiet
    stream gets small, fast batches (low latency) and a loaded one large batches (fixed
    costs amortised). ``max_messages`` and ``max_wait_s`` still bound the batch.
    """
    out: list[Message] = []
    deadline = time.monotonic() + max_wait_s
    while len(out) < max_messages:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for m in consumer.consume(max_messages - len(out), timeout=min(remaining, slice_s)):
            err = m.error()
            if err is None:
                out.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", err)
                if on_error is not None:
                    on_error(err)
        if out and not busy():
            break
    return out


def _produced_at(timestamps_ms: list[int]) -> pd.Series:
    arr = np.asarray(timestamps_ms, dtype=np.int64)
    ts = pd.to_datetime(arr, unit="ms", utc=True)
    return pd.Series(ts.where(arr > 0, pd.NaT), dtype="datetime64[ns, UTC]")


def _offset_ranges(
    topics: list[str], parts: np.ndarray, offs: Iterable[int]
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """Per (topic, partition), in order of first appearance: the next offset to commit (the
    largest + 1) and the first offset of the batch. Vectorised: a batch is one or a few
    partitions of one topic, thousands of messages."""
    offset = np.fromiter(offs, np.int64, len(parts))
    if not len(parts):
        return {}, {}
    names = list(dict.fromkeys(topics))
    key = parts - int(parts.min())
    if len(names) > 1:
        code = {t: i for i, t in enumerate(names)}
        key = np.fromiter(map(code.__getitem__, topics), np.int64, len(topics)) * (int(key.max()) + 1) + key
    uniq, first_at = np.unique(key, return_index=True)
    last = np.full(len(uniq), -1, np.int64)
    np.maximum.at(last, np.searchsorted(uniq, key), offset)
    nexts, firsts = {}, {}
    for j in np.argsort(first_at, kind="stable").tolist():
        i = int(first_at[j])
        tp = (topics[i], int(parts[i]))
        nexts[tp], firsts[tp] = int(last[j]) + 1, int(offset[i])
    return nexts, firsts


def decode_messages(
    messages: list[Message],
    recent: RecentIds | None = None,
    policy: AdmissionPolicy | None = None,
    known_extras: frozenset[str] | None = None,
) -> DecodedBatch:
    """Decode, validate and de-duplicate a batch of raw messages.

    ``policy`` refuses events too far ahead of the wall clock and bounds the extras (to
    ``known_extras``, the current model's, when given); see :mod:`fraudguard.admission`.

    Every message ends up either in ``frame`` or in ``dead_letters``, with the same count
    (``len(frame) + len(dead_letters) == len(messages)``), which the tests check.
    """
    n = len(messages)
    parts = np.fromiter(map(Message.partition, messages), np.int64, n)
    topics = cast(list[str], list(map(Message.topic, messages)))  # records: topic and offset are set
    offsets, first = _offset_ranges(topics, parts, cast(Iterable[int], map(Message.offset, messages)))

    letters: list[DeadLetter] = []
    values = list(map(Message.value, messages))
    at = np.arange(n)  # each payload's message
    if None in values:
        letters += [DeadLetter.from_message(m, "$", "empty message (no value)") for m in messages if m.value() is None]
        at = np.flatnonzero([v is not None for v in values])
        values = [values[i] for i in at.tolist()]
    policy = policy or AdmissionPolicy()
    good, bad = schema.decode_batch(cast(list[bytes], values), max_skew_s=policy.max_skew_s)
    if bad:
        letters += [DeadLetter.from_message(messages[at[i]], r.field, r.reason) for i, r in bad]
        at = np.delete(at, [i for i, _ in bad])

    ids = [t.transaction_id for t in good]
    contents = [hash(content_key(t)) for t in good]
    dup = pd.Index(ids).duplicated(keep="first") if ids else np.zeros(0, bool)
    if recent is not None and ids:
        dup |= recent.contains_many(ids)
    duplicates = int(dup.sum())
    if duplicates:
        first_seen: dict[str, int] = {}
        for tid, c, d in zip(ids, contents, dup.tolist(), strict=True):
            if not d:
                first_seen.setdefault(tid, c)
        for i in np.flatnonzero(dup).tolist():
            seen = recent.content(ids[i]) if recent is not None and ids[i] in recent else first_seen.get(ids[i])
            reason = DUPLICATE_REASON if seen == contents[i] else CONFLICT_REASON
            letters.append(DeadLetter.from_message(messages[at[i]], "transaction_id", f"{reason} {ids[i]!r}"))
        keep = ~dup
        good = [t for t, k in zip(good, keep.tolist(), strict=True) if k]
        contents = [c for c, k in zip(contents, keep.tolist(), strict=True) if k]
        at = at[keep]
    if recent is not None:
        recent.add_many([t.transaction_id for t in good], contents)

    good, extras_dropped = bound_extras(good, policy.max_extras, known_extras)
    ok_msgs = [messages[i] for i in at.tolist()]
    frame = schema.to_frame(good)
    frame["produced_at"] = _produced_at([ts if kind else -1 for kind, ts in map(Message.timestamp, ok_msgs)]).array
    partitions = parts[at].astype(np.int32)
    return DecodedBatch(
        messages=messages,
        frame=frame,
        partitions=partitions,
        row_messages=ok_msgs,
        dead_letters=letters,
        duplicates=duplicates,
        extras_dropped=extras_dropped,
        offsets=offsets,
        first_offsets=first,
    )
