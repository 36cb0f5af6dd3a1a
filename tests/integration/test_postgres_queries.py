"""Query and analytics functions against rows written by the real sink; expectations from pandas."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest

from fraudguard.errors import ValidationError
from fraudguard.io import pg_analytics as an
from fraudguard.io import pg_queries as q
from fraudguard.io.postgres import connect
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.postgres import PostgresSink
from fraudguard.schema import ENSEMBLE, MODEL_NAMES, Label
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration


@pytest.fixture
def data(pg_db: str) -> pd.DataFrame:
    frame = pd.concat(
        [prediction_frame(600, seed=11, prefix="a"), prediction_frame(400, seed=12, prefix="b", model_version="v2")],
        ignore_index=True,
    )
    sink = PostgresSink(pg_db)
    sink.setup()
    sink.write(PredictionBatch.of(frame), batch_id="q")
    sink.close()
    return frame


@pytest.fixture
def conn(pg_db: str) -> Iterator[psycopg.Connection]:
    with connect(pg_db, autocommit=True) as c:
        yield c


def test_get_prediction_and_missing(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    row = q.get_prediction(conn, "b7")
    src = data[data["transaction_id"] == "b7"].iloc[0]
    assert row is not None
    assert row["model_version"] == "v2" and row["card_id"] == src["card_id"]
    assert row["scores"] == {m: src[f"score_{m}"] for m in MODEL_NAMES}
    assert q.get_prediction(conn, "nope") is None


def test_card_history_matches_pandas(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    card = data[data["card_id"] == "card3"]
    hist = q.card_history(conn, "card3", recent=5)
    assert hist is not None
    assert hist["transactions"] == len(card)
    assert hist["alerts"] == int((card["decision"] == "fraud").sum())
    assert math.isclose(hist["amount_sum"], card["amount"].sum()) and math.isclose(
        hist["amount_avg"], card["amount"].mean()
    )
    assert hist["first_seen"] == card["event_time"].min().to_pydatetime()
    assert hist["last_seen"] == card["event_time"].max().to_pydatetime()
    expected = card.sort_values(["event_time", "transaction_id"], ascending=False)["transaction_id"].head(5).tolist()
    assert [r["transaction_id"] for r in hist["recent_transactions"]] == expected
    assert all(r["decision"] == "fraud" for r in hist["recent_alerts"])
    assert len(hist["recent_alerts"]) == min(5, hist["alerts"])
    assert q.card_history(conn, "unknown-card") is None


@pytest.mark.parametrize("decision", ["fraud", "legit", None])
def test_pages_walk_every_prediction_of_a_decision_once_newest_first(
    data: pd.DataFrame, conn: psycopg.Connection, decision: str | None
) -> None:
    """Alerts through the partial index; legitimate and all predictions through the event
    time index (no index on the decision since migration 31): the same pages either way."""
    seen: list[str] = []
    cursor = None
    while True:
        page = q.list_predictions(conn, decision=decision, limit=37, cursor=cursor)
        seen.extend(r["transaction_id"] for r in page["items"])
        assert decision is None or all(r["decision"] == decision for r in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    rows = data if decision is None else data[data["decision"] == decision]
    assert seen == rows.sort_values(["event_time", "transaction_id"], ascending=False)["transaction_id"].tolist()


def test_alert_filters(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    since = datetime(2026, 3, 2, tzinfo=UTC)
    until = since + timedelta(hours=12)
    page = q.list_alerts(conn, since=since, until=until, min_score=0.9, model_version="v1", limit=1000)
    ts = data["event_time"]
    want = data[
        (data["decision"] == "fraud")
        & (ts >= since)
        & (ts < until)
        & (data["ensemble_score"] >= 0.9)
        & (data["model_version"] == "v1")
    ]
    assert {r["transaction_id"] for r in page["items"]} == set(want["transaction_id"])
    everything = q.list_predictions(conn, decision=None, card_id="card1", limit=1000)
    assert len(everything["items"]) == int((data["card_id"] == "card1").sum())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"min_score": 1.5}, "min_score"),
        ({"decision": "maybe"}, "decision"),
        ({"since": datetime(2026, 1, 1)}, "since"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
    ],
)
def test_bad_filters_name_the_argument(conn: psycopg.Connection, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        q.list_predictions(conn, **kwargs)
    assert info.value.field == field


def test_labels_update_truth_latest_wins(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    t0 = datetime(2026, 4, 1, tzinfo=UTC)
    assert q.record_label(conn, "a1", True, source="chargeback", labelled_at=t0)
    assert not q.record_label(conn, "never-scored", True)
    older = Label(transaction_id="a1", is_fraud=False, source="old", labelled_at=t0 - timedelta(days=1))
    assert q.record_labels(conn, [older]) == 1  # row touched, but the older label does not win
    row = q.get_prediction(conn, "a1")
    assert row is not None and row["label"] is True and row["label_source"] == "chargeback"
    newer = [older, Label(transaction_id="a1", is_fraud=False, source="analyst", labelled_at=t0 + timedelta(days=1))]
    q.record_labels(conn, newer)
    row = q.get_prediction(conn, "a1")
    assert row is not None and row["label"] is False and row["label_source"] == "analyst"
    with pytest.raises(ValidationError, match="source"):
        q.record_label(conn, "a2", True, source="")


def truth(frame: pd.DataFrame) -> pd.Series:
    return frame["is_fraud"]


def test_stats_match_pandas(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    s = an.stats(conn)
    labelled = data[truth(data).notna()]
    assert s["total"] == len(data)
    assert s["alerts"] == int((data["decision"] == "fraud").sum())
    assert s["labelled"] == len(labelled)
    assert s["frauds"] == int((labelled["is_fraud"] == 1).sum())
    assert s["fraud_rate"] == pytest.approx(s["frauds"] / len(labelled))
    assert s["per_decision"] == data["decision"].value_counts().to_dict()
    assert s["per_model_version"] == {"v1": 600, "v2": 400}
    assert len(s["models"]) == 2 * (len(MODEL_NAMES) + 1)


def test_model_comparison_confusion_counts(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    rows = an.model_comparison(conn, thresholds={"xgboost": 0.5})
    by = {(r["model_version"], r["model"]): r for r in rows}
    for version in ("v1", "v2"):
        sub = data[(data["model_version"] == version) & data["is_fraud"].notna()]
        y = sub["is_fraud"] == 1
        for model, pred in (
            (ENSEMBLE, sub["decision"] == "fraud"),
            ("xgboost", sub["score_xgboost"] >= 0.5),
            ("random_forest", sub["score_random_forest"] >= sub["threshold"]),
        ):
            r = by[(version, model)]
            assert (r["tp"], r["fp"], r["tn"], r["fn"]) == (
                int((y & pred).sum()),
                int((~y & pred).sum()),
                int((~y & ~pred).sum()),
                int((y & ~pred).sum()),
            )
            assert r["labelled"] == len(sub)
        assert by[(version, ENSEMBLE)]["mean_score_fraud"] == pytest.approx(sub.loc[y, "ensemble_score"].mean())
    with pytest.raises(ValidationError, match="thresholds"):
        an.model_comparison(conn, thresholds={"nope": 0.5})


def test_a_late_label_overrides_carried_truth_in_stats(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    unknown = data.loc[data["is_fraud"].isna(), "transaction_id"].iloc[0]
    before = an.stats(conn)
    q.record_label(conn, unknown, True)
    after = an.stats(conn)
    assert (after["labelled"], after["frauds"]) == (before["labelled"] + 1, before["frauds"] + 1)


def test_fraud_by_category_hour_and_amount(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    cats = {r["key"]: r for r in an.fraud_by_category(conn)}
    expected = data.groupby("merchant_category").agg(
        n=("amount", "size"), alerts=("decision", lambda d: (d == "fraud").sum())
    )
    assert {k: (v["transactions"], v["alerts"]) for k, v in cats.items()} == {
        k: (int(r.n), int(r.alerts)) for k, r in expected.iterrows()
    }
    hours = an.fraud_by_hour(conn)
    assert [r["key"] for r in hours] == [str(h) for h in range(24)]
    counts = data["event_time"].dt.hour.value_counts()
    assert [r["transactions"] for r in hours] == [int(counts.get(h, 0)) for h in range(24)]
    edges = (50.0, 100.0, 500.0)
    buckets = an.fraud_by_amount(conn, edges=edges)
    assert [b["key"] for b in buckets] == ["< 50", "[50, 100)", "[100, 500)", ">= 500"]
    idx = np.searchsorted(np.array(edges), data["amount"].to_numpy(), side="right")
    assert [b["transactions"] for b in buckets] == [int((idx == i).sum()) for i in range(4)]
    assert sum(b["amount_sum"] for b in buckets) == pytest.approx(data["amount"].sum())
    with pytest.raises(ValidationError, match="edges"):
        an.fraud_by_amount(conn, edges=(10.0, 5.0))


def test_time_window_restricts_aggregates(data: pd.DataFrame, conn: psycopg.Connection) -> None:
    since = datetime(2026, 3, 2, tzinfo=UTC)
    s = an.stats(conn, since=since)
    assert s["total"] == int((data["event_time"] >= since).sum())
    assert sum(r["transactions"] for r in an.fraud_by_category(conn, until=since)) == int(
        (data["event_time"] < since).sum()
    )


def test_empty_database_gives_zeros_not_errors(conn: psycopg.Connection) -> None:
    s = an.stats(conn)
    assert (s["total"], s["alert_rate"], s["fraud_rate"], s["models"]) == (0, None, None, [])
    assert q.list_alerts(conn) == {"items": [], "next_cursor": None}
    assert all(r["transactions"] == 0 for r in an.fraud_by_hour(conn))
