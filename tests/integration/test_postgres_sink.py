"""PostgresSink against a real PostgreSQL: COPY + upsert, idempotent replay, hostile strings."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import ValidationError
from fraudguard.io.pg_queries import get_prediction, record_label
from fraudguard.io.postgres import connect
from fraudguard.io.sinks.base import PredictionBatch, Sink
from fraudguard.io.sinks.postgres import PostgresSink
from fraudguard.schema import PREDICTION_COLUMNS
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration


@pytest.fixture
def sink(pg_db: str):
    s = PostgresSink(pg_db)
    s.setup()
    yield s
    s.close()


def count(url: str) -> int:
    with connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM fraud_predictions").fetchone()
    assert row is not None
    return int(row[0])


def test_implements_the_sink_protocol(pg_db: str) -> None:
    assert isinstance(PostgresSink(pg_db), Sink)


def test_setup_twice_is_harmless(sink: PostgresSink) -> None:
    sink.setup()
    assert sink.upsert(PredictionBatch.of(prediction_frame(3)), batch_id="b") == 3


def test_copy_of_20k_rows_lands_every_row_with_its_values(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(20_000, seed=3)
    assert sink.upsert(PredictionBatch.of(frame), batch_id="big") == 20_000
    sink.flush()
    assert count(pg_db) == 20_000
    with connect(pg_db) as conn:
        amount_sum, frauds, unknown, alerts = conn.execute(
            "SELECT sum(amount), count(*) FILTER (WHERE is_fraud), count(*) FILTER (WHERE is_fraud IS NULL),"
            " count(*) FILTER (WHERE decision = 'fraud') FROM fraud_predictions"
        ).fetchone() or (None, None, None, None)
    assert math.isclose(amount_sum, frame["amount"].sum(), rel_tol=1e-9)
    assert frauds == int((frame["is_fraud"] == 1.0).sum())
    assert unknown == int(frame["is_fraud"].isna().sum())
    assert alerts == int((frame["decision"] == "fraud").sum())


def test_row_values_round_trip_exactly(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(50, seed=5)
    sink.write(PredictionBatch.of(frame), batch_id="b")
    with connect(pg_db) as conn:
        for i in (0, 1, 7, 49):
            src = frame.iloc[i]
            got = get_prediction(conn, src["transaction_id"])
            assert got is not None
            assert got["event_time"] == src["event_time"].to_pydatetime()
            assert got["scored_at"] == src["scored_at"].to_pydatetime()
            assert got["amount"] == src["amount"]
            assert got["score_xgboost"] == src["score_xgboost"]
            assert got["reasons"] == list(src["reasons"])
            assert got["customer_id"] == src["customer_id"]
            assert got["is_fraud"] == (None if np.isnan(src["is_fraud"]) else bool(src["is_fraud"]))


def test_replaying_a_batch_keeps_one_row_per_transaction_and_the_first_decision(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(1000, seed=1)
    assert sink.upsert(PredictionBatch.of(frame), batch_id="b1") == 1000
    assert sink.upsert(PredictionBatch.of(frame), batch_id="b1") == 0  # identical replay: nothing rewritten
    assert count(pg_db) == 1000
    rescored = frame.assign(ensemble_score=0.99, decision="fraud", model_version="v2")
    sink.write(PredictionBatch.of(rescored), batch_id="b1")  # before: DO UPDATE rewrote every decision
    assert count(pg_db) == 1000
    with connect(pg_db) as conn:
        versions = conn.execute("SELECT DISTINCT model_version FROM fraud_predictions").fetchall()
        (changed,) = conn.execute(
            "SELECT count(*) FROM fraud_predictions WHERE updated_at > inserted_at"
        ).fetchone() or (0,)
    assert versions == [(frame["model_version"].iloc[0],)]
    assert changed == 0
    stored = sink.stored([frame["transaction_id"].iloc[5], "no-such-id"])
    assert stored["transaction_id"].tolist() == [frame["transaction_id"].iloc[5]]
    assert stored["ensemble_score"].iloc[0] == frame["ensemble_score"].iloc[5]


def test_duplicate_ids_within_one_batch_keep_the_first(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(10)
    dup = frame.iloc[[3]].assign(amount=12345.0)
    assert sink.upsert(PredictionBatch.of(pd.concat([frame, dup], ignore_index=True)), batch_id="d") == 10
    with connect(pg_db) as conn:
        got = get_prediction(conn, frame.iloc[3]["transaction_id"])
    assert got is not None and got["amount"] == frame.iloc[3]["amount"]


def test_replay_does_not_erase_a_late_label(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(5)
    sink.write(PredictionBatch.of(frame), batch_id="b")
    with connect(pg_db) as conn:
        assert record_label(conn, "tx2", True, source="chargeback")
    sink.write(PredictionBatch.of(frame), batch_id="b")
    with connect(pg_db) as conn:
        got = get_prediction(conn, "tx2")
    assert got is not None and got["label"] is True and got["label_source"] == "chargeback"


def test_label_received_before_the_prediction_is_attached_on_insert(sink: PostgresSink, pg_db: str) -> None:
    at = datetime(2026, 3, 5, tzinfo=UTC)
    with connect(pg_db) as conn:
        assert record_label(conn, "tx4", False, source="analyst", labelled_at=at) is False
    sink.write(PredictionBatch.of(prediction_frame(6)), batch_id="b")
    with connect(pg_db) as conn:
        got = get_prediction(conn, "tx4")
    assert got is not None and got["label"] is False and got["labelled_at"] == at


HOSTILE = [
    'it\'s "quoted"',
    "back\\slash \\\\ and \\N",
    '{braces},commas,{"nested"}',
    "NULL",
    "",
    "   spaces   ",
    "line\nbreak\r\nand\ttab",
    "unicode: café, 日本語, emoji 🚨, RTL \u202e",
    "x" * 100_000,
]


def test_hostile_strings_round_trip(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(len(HOSTILE))
    frame["transaction_id"] = [f"tx-'{i}'\"é🚨" for i in range(len(HOSTILE))]
    frame["merchant_category"] = HOSTILE
    frame["reasons"] = [[h, h[::-1], ""] for h in HOSTILE]
    frame.loc[0, "reasons"] = None
    sink.write(PredictionBatch.of(frame), batch_id="hostile 'batch'")
    with connect(pg_db) as conn:
        for i, h in enumerate(HOSTILE):
            got = get_prediction(conn, frame["transaction_id"][i])
            assert got is not None
            assert got["merchant_category"] == h
            assert got["reasons"] == ([] if i == 0 else [h, h[::-1], ""])


def test_nul_characters_are_replaced_not_fatal(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(2)
    frame.loc[0, "merchant_category"] = "bad\x00byte"
    frame.at[1, "reasons"] = ["a\x00b"]
    sink.write(PredictionBatch.of(frame), batch_id="nul")
    with connect(pg_db) as conn:
        first, second = get_prediction(conn, "tx0"), get_prediction(conn, "tx1")
    assert first is not None and first["merchant_category"] == "bad\ufffdbyte"
    assert second is not None and second["reasons"] == ["a\ufffdb"]


def test_missing_model_score_is_stored_as_null(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(3).assign(score_random_forest=[0.5, float("nan"), None])
    sink.write(PredictionBatch.of(frame), batch_id="nan")
    with connect(pg_db) as conn:
        rows = conn.execute("SELECT score_random_forest FROM fraud_predictions ORDER BY transaction_id").fetchall()
    assert rows == [(0.5,), (None,), (None,)]


def test_malformed_frames_are_refused_naming_the_column(sink: PostgresSink, pg_db: str) -> None:
    frame = prediction_frame(3)
    with pytest.raises(ValidationError, match=r"^reasons"):
        sink.write(PredictionBatch.of(frame.drop(columns=["reasons"])), batch_id="x")
    with pytest.raises(ValidationError, match=r"^card_id"):
        sink.write(PredictionBatch.of(frame.assign(card_id=None)), batch_id="x")
    with pytest.raises(ValidationError, match=r"^amount: must be a finite number"):
        sink.write(PredictionBatch.of(frame.assign(amount=[1.0, float("inf"), 2.0])), batch_id="x")
    with pytest.raises(ValidationError, match=r"^is_fraud"):
        sink.write(PredictionBatch.of(frame.assign(is_fraud=0.5)), batch_id="x")
    with pytest.raises(ValidationError, match=r"^event_time"):
        sink.write(PredictionBatch.of(frame.assign(event_time=frame["event_time"].dt.tz_localize(None))), batch_id="x")
    assert count(pg_db) == 0
    assert sink.upsert(PredictionBatch.of(frame[list(PREDICTION_COLUMNS)].iloc[:0]), batch_id="empty") == 0


def test_new_batches_take_the_plain_insert_and_overlapping_ones_the_upsert(sink: PostgresSink, pg_db: str) -> None:
    first = prediction_frame(200, prefix="a")
    assert sink.upsert(PredictionBatch.of(first), batch_id="a") == 200
    assert sink.fast_inserts == 1
    # half old ids (re-scored), half new: the plain INSERT fails on the old ones, the upsert adds the new
    overlap = pd.concat([first.iloc[100:].assign(ensemble_score=0.99), prediction_frame(100, prefix="b")])
    assert sink.upsert(PredictionBatch.of(overlap), batch_id="ab") == 100
    assert sink.fast_inserts == 1, "a batch with an existing id must not take the fast path"
    assert count(pg_db) == 300
    with connect(pg_db) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE ensemble_score = 0.99), count(DISTINCT transaction_id) FROM fraud_predictions"
        ).fetchone()
    assert row == (0, 300)  # the stored decisions were kept
