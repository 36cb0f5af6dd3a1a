"""Event time under control (issue 11, failure 3): far-future events are refused, and the
feature state's expiry clock cannot be jumped by one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pandas as pd
from confluent_kafka import Message

from fraudguard import schema
from fraudguard.admission import check_event_skew
from fraudguard.engines.local.batching import decode_messages
from fraudguard.features import FeaturePipeline
from fraudguard.features.watermark import QuorumWatermark
from fraudguard.generator import generate_frame

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _tx_bytes(event_time: datetime, tid: str = "t") -> bytes:
    tx = schema.Transaction(transaction_id=tid, card_id="c", event_time=event_time, amount=1.0, merchant_id="m")
    return schema.encode(tx)


def test_events_ahead_of_the_wall_clock_are_rejected_with_a_reason() -> None:
    ok = _tx_bytes(NOW + timedelta(minutes=9), "ok")
    ahead = _tx_bytes(NOW + timedelta(minutes=11), "ahead")
    far = _tx_bytes(datetime(2099, 1, 1, tzinfo=UTC), "far")
    past = _tx_bytes(datetime(2001, 1, 1, tzinfo=UTC), "past")
    good, bad = schema.decode_batch([ok, ahead, far, past], now=NOW)
    assert [t.transaction_id for t in good] == ["ok", "past"]
    assert [(i, r.field) for i, r in bad] == [(1, "event_time"), (2, "event_time")]
    assert "ahead of the wall clock" in bad[0][1].reason
    # the limit is a setting: 0 refuses anything in the future, None disables the check
    assert len(schema.decode_batch([ok], now=NOW, max_skew_s=0)[1]) == 1
    assert len(schema.decode_batch([far], now=NOW, max_skew_s=None)[0]) == 1


def test_stream_sends_future_events_to_the_dlq() -> None:
    now = datetime.now(UTC)
    msgs = [
        Message(topic="tx", partition=0, offset=i, value=v, timestamp=(1, 1))
        for i, v in enumerate([_tx_bytes(now, "a"), _tx_bytes(datetime(2099, 1, 1, tzinfo=UTC), "b")])
    ]
    batch = decode_messages(msgs)
    assert batch.frame["transaction_id"].tolist() == ["a"]
    (letter,) = batch.dead_letters
    assert letter.offset == 1 and letter.field == "event_time" and "ahead" in letter.reason


def test_check_event_skew_names_the_field() -> None:
    tx = msgspec.json.decode(_tx_bytes(NOW + timedelta(hours=1)), type=schema.Transaction)
    try:
        check_event_skew(tx, NOW, 600)
    except Exception as e:
        assert getattr(e, "field", None) == "event_time"
    else:
        raise AssertionError("not refused")


def test_watermark_ignores_fewer_than_quorum_outliers() -> None:
    wm = QuorumWatermark(quorum=4)
    assert wm.advance(pd.Series([10, 20, 30]).to_numpy()) == 10  # below quorum: the smallest seen
    assert wm.advance(pd.Series([40, 10**18, 10**18, 10**18]).to_numpy()) == 40  # 3 outliers: not moved there
    assert wm.advance(pd.Series([50]).to_numpy()) == 50


def test_far_future_event_changes_no_other_cards_features() -> None:
    """Before: one event dated 2099 made the pipeline's clock expire every other card."""
    history = generate_frame(3_000, seed=11)
    pipe = FeaturePipeline()
    pipe.transform(history)
    probe = generate_frame(3_300, seed=11).iloc[3_000:].reset_index(drop=True)
    before = pipe.transform(probe, update=False)
    cards_before = len(pipe.card_store)

    future = history.iloc[[0]].copy()
    future["transaction_id"] = "from-2099"
    future["card_id"] = "someone-else"
    future["event_time"] = pd.Timestamp("2099-01-01", tz="UTC")
    pipe.transform(future.reset_index(drop=True))

    after = pipe.transform(probe, update=False)
    pd.testing.assert_frame_equal(before, after)
    assert len(pipe.card_store) == cards_before + 1
    assert pipe.stats()["expired"] == 0
