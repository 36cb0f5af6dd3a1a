"""Backtest figures over a small Parquet history computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from fraudguard.errors import DataFormatError, ValidationError
from fraudguard.io.backtest import backtest, parse_since
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.parquet import ParquetSink
from fraudguard.rules import RuleError
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 3, tzinfo=UTC)


def history(root: Path) -> None:
    """Day 1: t1..t4, day 2: t5, t6, one row older than the window, and t1 written twice."""
    rows = [
        # id, time, amount, is_fraud, ensemble_score (threshold 0.5)
        ("t1", "2026-03-01T10:00:00Z", 2000.0, 1.0, 0.9),
        ("t2", "2026-03-01T11:00:00Z", 1500.0, 0.0, 0.1),
        ("t3", "2026-03-01T12:00:00Z", 10.0, 1.0, 0.7),
        ("t4", "2026-03-01T23:59:59Z", 5000.0, np.nan, 0.2),
        ("t5", "2026-03-02T00:00:00Z", 3000.0, 1.0, 0.1),
        ("t6", "2026-03-02T08:00:00Z", 50.0, 0.0, 0.9),
        ("old", "2026-02-20T08:00:00Z", 9000.0, 1.0, 0.9),
    ]
    frame = prediction_frame(len(rows))
    frame["transaction_id"] = [r[0] for r in rows]
    frame["event_time"] = frame["event_time"].__class__([r[1] for r in rows]).astype("datetime64[ns, UTC]")
    frame["scored_at"] = frame["event_time"]
    frame["amount"] = [r[2] for r in rows]
    frame["is_fraud"] = [r[3] for r in rows]
    frame["ensemble_score"] = [r[4] for r in rows]
    frame["threshold"] = 0.5
    frame["merchant_category"] = ["jewelry", "grocery", "jewelry", "fuel", "jewelry", "jewelry", "jewelry"]
    sink = ParquetSink(root)
    sink.setup()
    sink.write(PredictionBatch.of(frame), batch_id="b1")
    sink.write(PredictionBatch.of(frame.iloc[:1]), batch_id="replay-of-t1")


def test_per_day_figures_match_the_hand_computation(tmp_path: Path) -> None:
    history(tmp_path)
    out = backtest(tmp_path, "amount > 1000", since=timedelta(days=7), now=NOW)
    days = {d["day"]: d for d in out["days"]}
    assert list(days) == [date(2026, 3, 1), date(2026, 3, 2)]  # "old" is outside the window
    d1, d2 = days[date(2026, 3, 1)], days[date(2026, 3, 2)]
    assert d1 == {
        "day": date(2026, 3, 1), "transactions": 4, "hits": 3, "labelled_hits": 2, "true_positives": 1,
        "precision": 0.5, "recall": 0.5, "model_alerts": 2, "overlap_with_model": 1,
        "extra_alerts": 2, "extra_alerts_per_1000": 500.0,
    }  # fmt: skip
    assert (d2["hits"], d2["precision"], d2["recall"], d2["overlap_with_model"], d2["extra_alerts"]) == (
        1,
        1.0,
        1.0,
        0,
        1,
    )
    assert d2["extra_alerts_per_1000"] == 500.0
    total = out["total"]
    assert (total["transactions"], total["hits"], total["true_positives"]) == (6, 4, 2)
    assert total["precision"] == pytest.approx(2 / 3) and total["recall"] == pytest.approx(2 / 3)
    assert out["rows"] == 6


def test_files_being_written_are_skipped_and_damaged_ones_reported(tmp_path: Path) -> None:
    history(tmp_path)
    (tmp_path / "event_date=2026-03-01" / ".tmp-part-b9.parquet").write_bytes(b"half a file")
    assert backtest(tmp_path, "amount > 1000", since=timedelta(days=7), now=NOW)["total"]["hits"] == 4
    (tmp_path / "event_date=2026-03-01" / "part-broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataFormatError, match="backtest over"):
        backtest(tmp_path, "amount > 1000", since=timedelta(days=7), now=NOW)


def test_string_and_score_conditions(tmp_path: Path) -> None:
    history(tmp_path)
    out = backtest(
        tmp_path, "merchant_category in ('jewelry',) and score_ensemble < 0.8", since=timedelta(days=7), now=NOW
    )
    assert [d["hits"] for d in out["days"]] == [1, 1]  # t3 and t5
    assert [d["overlap_with_model"] for d in out["days"]] == [1, 0]


def test_features_not_in_history_are_refused_and_empty_history_is_empty(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="unknown field 'card_count_1h'"):
        backtest(tmp_path, "card_count_1h > 3", since=timedelta(days=1))
    assert backtest(tmp_path / "none", "amount > 1", since=timedelta(days=1))["days"] == []


def test_since_parsing() -> None:
    assert parse_since("36h") == timedelta(hours=36) and parse_since("7d") == timedelta(days=7)
    with pytest.raises(ValidationError, match="like 36h"):
        parse_since("7 weeks")
