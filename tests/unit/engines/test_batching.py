"""Decoding a polled batch: every message becomes a row or a dead letter, duplicates counted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Message

from fraudguard import schema
from fraudguard.engines.local.batching import CONFLICT_REASON, DUPLICATE_REASON, RecentIds, decode_messages
from fraudguard.engines.local.offsets import LagTracker
from fraudguard.engines.local.status import LatencyWindow
from fraudguard.io.sinks.dlq import HEADER_FIELD, HEADER_OFFSET, HEADER_REASON, DeadLetter


def tx(i: int, **over: object) -> bytes:
    rec = {
        "transaction_id": f"t{i}",
        "card_id": f"c{i % 3}",
        "event_time": "2026-01-01T00:00:00Z",
        "amount": 10.0 + i,
        "merchant_id": "m1",
    }
    rec.update(over)
    return schema.encode(schema.Transaction(**rec))  # type: ignore[arg-type]


def msg(value: bytes | None, offset: int, partition: int = 0, ts: int = 1_767_225_600_000) -> Message:
    return Message(topic="tx", partition=partition, offset=offset, key=b"k", value=value, timestamp=(1, ts))


def test_every_message_is_a_row_or_a_dead_letter_with_its_original_bytes():
    raw = [tx(0), b"{bad", tx(1), None, b'{"transaction_id": "x"}', tx(2)]
    batch = decode_messages([msg(v, i) for i, v in enumerate(raw)])
    assert len(batch.frame) + len(batch.dead_letters) == len(raw)
    assert batch.frame["transaction_id"].tolist() == ["t0", "t1", "t2"]
    assert {d.offset for d in batch.dead_letters} == {1, 3, 4}
    assert {d.value for d in batch.dead_letters} == {b"{bad", None, b'{"transaction_id": "x"}'}
    missing = next(d for d in batch.dead_letters if d.offset == 4)
    assert missing.field == "card_id"


def test_duplicates_within_and_across_batches_keep_the_first():
    recent = RecentIds(100)
    first = decode_messages([msg(tx(1), 0), msg(tx(1, amount=99.0), 1), msg(tx(2), 2)], recent)
    assert first.duplicates == 1
    assert first.frame["amount"].tolist() == [11.0, 12.0]
    assert first.dead_letters[0].reason.startswith(CONFLICT_REASON)  # other content: the first version stays
    second = decode_messages([msg(tx(2), 3), msg(tx(3), 4), msg(tx(3, amount=1.0), 5)], recent)
    assert second.duplicates == 2 and second.frame["transaction_id"].tolist() == ["t3"]
    assert second.dead_letters[0].reason.startswith(DUPLICATE_REASON)  # the same content again
    assert second.dead_letters[1].reason.startswith(CONFLICT_REASON)


def test_recent_ids_evict_the_oldest_beyond_capacity():
    recent = RecentIds(3)
    recent.add_many(["a", "b", "c", "d"])
    assert "a" not in recent and all(k in recent for k in "bcd") and len(recent) == 3


def test_offsets_name_the_next_offset_per_partition_and_batch_id_is_stable():
    msgs = [msg(tx(0), 5, 0), msg(tx(1), 9, 1), msg(tx(2), 6, 0)]
    batch = decode_messages(msgs)
    assert batch.offsets == {("tx", 0): 7, ("tx", 1): 10}
    assert batch.batch_id == decode_messages(msgs).batch_id == "tx-p0o5-6_p1o9-9"
    assert batch.partitions.tolist() == [0, 1, 0]


@pytest.mark.parametrize("seed", range(5))
def test_offsets_rows_and_letters_of_mixed_topics_partitions_and_rejections(seed: int) -> None:
    """Per (topic, partition) in order of first appearance: the first offset and the largest
    + 1, over gaps; each frame row keeps its message's partition, and time; every message is a
    row or a dead letter, in message order."""
    rng = np.random.default_rng(seed)
    msgs, nxt = [], {}
    for i in range(300):
        topic, part = str(rng.choice(["tx", "tx", "replay"])), int(rng.integers(0, 5))
        offset = nxt.get((topic, part), int(rng.integers(0, 1000)))
        nxt[(topic, part)] = offset + int(rng.integers(1, 3))
        r = rng.random()
        value = None if r < 0.03 else b"{bad" if r < 0.08 else tx(int(rng.integers(0, 200)))
        msgs.append(
            Message(topic=topic, partition=part, offset=offset, key=b"k", value=value, timestamp=(1, 10**12 + i))
        )
    batch = decode_messages(msgs, RecentIds(1000))
    first: dict[tuple[str, int], int] = {}
    for m in msgs:
        first.setdefault((m.topic(), m.partition()), m.offset())
    assert list(batch.first_offsets.items()) == list(first.items())
    assert list(batch.offsets) == list(first)
    assert batch.offsets == {k: max(m.offset() for m in msgs if (m.topic(), m.partition()) == k) + 1 for k in first}
    assert batch.partitions.tolist() == [m.partition() for m in batch.row_messages]
    assert batch.partitions.dtype == np.int32
    produced = pd.to_datetime([m.timestamp()[1] for m in batch.row_messages], unit="ms", utc=True)
    assert (batch.frame["produced_at"].to_numpy() == produced.to_numpy()).all()
    ids = [json.loads(m.value())["transaction_id"] for m in batch.row_messages]
    assert batch.frame["transaction_id"].tolist() == ids
    assert len(batch.frame) + len(batch.dead_letters) == len(msgs)
    rejected = [m for m in msgs if m.value() is None or m.value() == b"{bad"]
    assert [d.offset for d in batch.dead_letters[: len(rejected)]] == [
        m.offset() for m in rejected if m.value() is None
    ] + [m.offset() for m in rejected if m.value() is not None]


def test_produced_at_comes_from_the_message_timestamp():
    batch = decode_messages([msg(tx(0), 0, ts=1_767_225_600_123)])
    assert batch.frame["produced_at"].iloc[0] == pd.Timestamp("2026-01-01T00:00:00.123Z")


def test_dead_letter_headers_name_reason_field_and_source():
    letter = DeadLetter.from_message(msg(b"\xff", 42, 3), "amount", "x" * 5000)
    headers = dict(letter.headers())
    assert headers[HEADER_FIELD] == b"amount" and headers[HEADER_OFFSET] == b"42"
    assert len(headers[HEADER_REASON]) <= 1024


def test_latency_percentiles_over_known_produce_times():
    window = LatencyWindow()
    decided = pd.Timestamp("2026-01-01T00:00:01Z")
    produced = pd.Series(
        pd.to_datetime(
            ["2026-01-01T00:00:00.900Z"] * 98 + ["2026-01-01T00:00:00.000Z", None], utc=True, format="ISO8601"
        )
    )
    window.add(produced, decided)
    p50, _p95, p99 = window.percentiles()
    assert p50 == 100.0 and 100.0 < p99 <= 1000.0
    assert np.isnan(LatencyWindow().percentiles()[0])


def test_lag_is_high_watermark_minus_position():
    lag = LagTracker()
    lag.position = {("tx", 0): 10, ("tx", 1): 5}
    lag.high = {("tx", 0): 25, ("tx", 1): 5}
    assert lag.lag() == 15
    lag.forget([("tx", 0)])
    assert lag.lag() == 0


def test_forgotten_ids_of_a_rolled_back_batch_are_scored_again_not_dead_lettered() -> None:
    """An aborted transaction (exactly-once, after a rebalance) rolls the batch back: when it is
    read again its rows must be produced again, not dead-lettered as duplicates."""
    recent = RecentIds(10)
    recent.add_many(["a", "b", "c"], [1, 2, 3])
    recent.forget(["a", "b", "zz"])
    assert "a" not in recent and "b" not in recent and recent.content("c") == 3 and len(recent) == 1
