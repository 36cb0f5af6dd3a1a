"""Bounded extras (issue 11, failure 4): few names per message, only the model's, linear cost."""

from __future__ import annotations

from datetime import UTC, datetime

from confluent_kafka import Message

from fraudguard import schema
from fraudguard.admission import AdmissionPolicy, bound_extras
from fraudguard.engines.local.batching import decode_messages


def _tx(i: int, extras: dict[str, float]) -> schema.Transaction:
    return schema.Transaction(
        transaction_id=f"t{i}", card_id="c", event_time=datetime(2026, 1, 1, tzinfo=UTC), amount=1.0,
        merchant_id="m", extras=extras,
    )  # fmt: skip


def test_at_most_n_names_and_only_known_ones() -> None:
    many = {f"n{j}": float(j) for j in range(200)}
    (kept,), dropped = bound_extras([_tx(0, many)], 64)
    assert list(kept.extras) == [f"n{j}" for j in range(64)] and dropped == 136
    (known,), dropped = bound_extras([_tx(0, many)], 64, {"n5", "n150", "V1"})
    assert known.extras == {"n5": 5.0, "n150": 150.0} and dropped == 198
    (none,), dropped = bound_extras([_tx(0, many)], 64, frozenset())  # the model uses no extras
    assert none.extras == {} and dropped == 200
    small = _tx(1, {"a": 1.0})
    assert bound_extras([small], 64)[0][0] is small  # nothing to drop: no copy


def test_many_distinct_names_make_one_block_not_one_column_insert_each() -> None:
    """Before: one DataFrame insert per distinct name (quadratic; 24 s for a 265 KB request)."""
    txs = [_tx(i, {f"k{i}_{j}": float(j) for j in range(20)}) for i in range(150)]  # 3,000 distinct names
    frame = schema.to_frame(txs)
    extra_cols = [c for c in frame.columns if c.startswith(schema.EXTRA_PREFIX)]
    assert len(extra_cols) == 3_000
    assert frame[f"{schema.EXTRA_PREFIX}k7_3"].iloc[7] == 3.0
    assert frame[f"{schema.EXTRA_PREFIX}k7_3"].isna().sum() == 149
    assert frame._mgr.nblocks < 20  # a fragmented frame holds one block per inserted column


def test_stream_drops_extras_with_a_count() -> None:
    msgs = [
        Message(topic="tx", partition=0, offset=i,
                value=schema.encode(_tx(i, {f"n{i}_{j}": 1.0 for j in range(100)})), timestamp=(1, 1))
        for i in range(5)
    ]  # fmt: skip
    batch = decode_messages(msgs, policy=AdmissionPolicy(max_extras=10))
    assert batch.extras_dropped == 5 * 90
    assert sum(c.startswith(schema.EXTRA_PREFIX) for c in batch.frame.columns) == 50
    only_model = decode_messages(msgs, policy=AdmissionPolicy(max_extras=10), known_extras=frozenset({"n0_1"}))
    assert [c for c in only_model.frame.columns if c.startswith(schema.EXTRA_PREFIX)] == ["x_n0_1"]
    assert only_model.extras_dropped == 500 - 1
