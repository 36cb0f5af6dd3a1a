"""Cases: opened and grouped from alerts, transitions with their audit, labels on resolution."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudguard.io import pg_cases
from fraudguard.io.postgres import connect
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.postgres import PostgresSink
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration


def alerts(pg_db: str) -> None:
    rows = [  # id, card, time, decision
        ("a1", "cardA", "2026-03-01T00:00:00Z", "fraud"),
        ("a2", "cardA", "2026-03-01T02:00:00Z", "fraud"),
        ("a3", "cardA", "2026-03-02T06:00:00Z", "fraud"),  # 30 h after a1: a new case
        ("b1", "cardB", "2026-03-01T01:00:00Z", "fraud"),
        ("l1", "cardA", "2026-03-01T01:00:00Z", "legit"),
    ]
    f = prediction_frame(len(rows))
    f["transaction_id"] = [r[0] for r in rows]
    f["card_id"] = [r[1] for r in rows]
    f["event_time"] = pd.to_datetime([r[2] for r in rows], utc=True)
    f["decision"] = [r[3] for r in rows]
    f["rule_ids"] = [["7"], [], [], [], []]
    sink = PostgresSink(pg_db)
    sink.setup()
    try:
        sink.upsert(PredictionBatch.of(f), batch_id="b")
    finally:
        sink.close()


def test_alerts_open_grouped_cases_once(pg_db: str) -> None:
    alerts(pg_db)
    with connect(pg_db, autocommit=True) as conn:
        touched = pg_cases.open_cases(conn)
        assert len(touched) == 3
        assert pg_cases.open_cases(conn) == []  # idempotent
        cases = pg_cases.list_cases(conn)
        by_first = {(c["card_id"], c["first_event_time"].isoformat()): c for c in cases}
        a = by_first[("cardA", "2026-03-01T00:00:00+00:00")]
        assert a["alerts"] == 2 and a["status"] == "open"
        assert by_first[("cardA", "2026-03-02T06:00:00+00:00")]["alerts"] == 1
        detail = pg_cases.case_detail(conn, a["id"])
        assert [x["transaction_id"] for x in detail["alert_list"]] == ["a1", "a2"]
        assert detail["alert_list"][0]["rule_ids"] == ["7"]
        assert [e["kind"] for e in detail["events"]] == ["opened", "alert_added"]
        events = conn.execute("SELECT type, count(*) FROM webhook_events GROUP BY type").fetchall()
    assert dict(events) == {"alert.created": 4}


def test_transitions_audit_and_labels(pg_db: str) -> None:
    alerts(pg_db)
    with connect(pg_db, autocommit=True) as conn:
        pg_cases.open_cases(conn)
        (case,) = [c for c in pg_cases.list_cases(conn, card_id="cardA") if c["alerts"] == 2]
        cid = case["id"]
        assert pg_cases.assign(conn, cid, "ana", actor="lead")["status"] == "in_review"
        pg_cases.add_note(conn, cid, "two jewelry buys in 2 h", actor="ana")
        resolved, labels = pg_cases.resolve(conn, cid, "confirmed_fraud", actor="ana")
        assert resolved["status"] == "confirmed_fraud" and resolved["resolved_at"] is not None
        assert sorted(lab.transaction_id for lab in labels) == ["a1", "a2"]
        with pytest.raises(pg_cases.CaseConflict, match="resolved"):
            pg_cases.resolve(conn, cid, "legitimate", actor="bob")
        with pytest.raises(pg_cases.CaseConflict):
            pg_cases.assign(conn, cid, "bob", actor="bob")
        with pytest.raises(pg_cases.CaseNotFound):
            pg_cases.assign(conn, 10**9, "bob", actor="bob")
        with pytest.raises(pg_cases.ValidationError):
            pg_cases.resolve(conn, cid, "maybe", actor="bob")
        pg_cases.add_note(conn, cid, "chargeback arrived", actor="ana")  # notes stay possible
        detail = pg_cases.case_detail(conn, cid)
        stored = dict(
            conn.execute("SELECT transaction_id, label FROM fraud_predictions WHERE label IS NOT NULL").fetchall()
        )
        resolved_events = conn.execute("SELECT payload FROM webhook_events WHERE type = 'case.resolved'").fetchall()
        assert pg_cases.list_cases(conn, status="in_review") == []
        assert len(pg_cases.list_cases(conn, status="open")) == 2
    assert [(e["actor"], e["kind"]) for e in detail["events"]] == [
        ("system", "opened"),
        ("system", "alert_added"),
        ("lead", "assigned"),
        ("ana", "note"),
        ("ana", "resolved"),
        ("ana", "note"),
    ]
    assert detail["events"][4]["detail"] == {"status": ["in_review", "confirmed_fraud"], "labels": 2}
    assert stored == {"a1": True, "a2": True}
    assert resolved_events[0][0]["transactions"] == ["a1", "a2"]


def test_keyset_pages_cover_every_case_once(pg_db: str) -> None:
    alerts(pg_db)
    with connect(pg_db, autocommit=True) as conn:
        pg_cases.open_cases(conn)
        seen, before = [], None
        while True:
            page = pg_cases.list_cases(conn, before_id=before, limit=2)
            if not page:
                break
            seen += [c["id"] for c in page]
            before = page[-1]["id"]
    assert len(seen) == 3 == len(set(seen)) and seen == sorted(seen, reverse=True)
