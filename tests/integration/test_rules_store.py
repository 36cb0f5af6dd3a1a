"""Rules in PostgreSQL: versions kept, audit log, revision counter, reload by the watcher."""

from __future__ import annotations

import pytest

from fraudguard.io import pg_rules
from fraudguard.io.postgres import connect
from fraudguard.io.rule_watcher import RuleWatcher
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.postgres import PostgresSink
from fraudguard.rules import RuleError
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration

BIG = {"name": "big", "condition": "amount > 1000", "action": "review", "priority": 10, "owner": "ana"}


def test_every_version_and_change_is_kept(pg_db: str) -> None:
    with connect(pg_db, autocommit=True) as conn:
        rev0 = pg_rules.revision(conn)
        row = pg_rules.create_rule(conn, BIG, actor="ana")
        assert (row["version"], row["state"]) == (1, "draft")
        pg_rules.update_rule(conn, row["id"], {"condition": "amount > 2000"}, actor="bob")
        last = pg_rules.update_rule(conn, row["id"], {"state": "active"}, actor="carl")
        assert last["version"] == 3 and last["condition"] == "amount > 2000"
        history = pg_rules.rule_history(conn, row["id"])
        assert pg_rules.revision(conn) == rev0 + 3
    assert [v["condition"] for v in history["versions"]] == ["amount > 1000", "amount > 2000", "amount > 2000"]
    assert [(a["actor"], a["change"]) for a in history["audit"]] == [
        ("ana", "created"),
        ("bob", "updated"),
        ("carl", "state:draft->active"),
    ]
    assert history["audit"][1]["diff"] == {"condition": ["amount > 1000", "amount > 2000"]}


def test_bad_rules_never_reach_the_table(pg_db: str) -> None:
    with connect(pg_db, autocommit=True) as conn:
        with pytest.raises(RuleError, match="unknown field 'amt'"):
            pg_rules.create_rule(conn, {**BIG, "condition": "amt > 1"}, actor="ana")
        row = pg_rules.create_rule(conn, BIG, actor="ana")
        with pytest.raises(RuleError, match="exists already"):
            pg_rules.create_rule(conn, BIG, actor="ana")
        with pytest.raises(RuleError, match="column 10"):
            pg_rules.update_rule(conn, row["id"], {"condition": "amount > 'x'"}, actor="ana")
        with pytest.raises(pg_rules.RuleNotFound):
            pg_rules.update_rule(conn, 999_999, {"state": "active"}, actor="ana")
        assert [r["version"] for r in pg_rules.list_rules(conn)] == [1]


def test_watcher_reloads_only_when_the_revision_moves(pg_db: str) -> None:
    watcher = RuleWatcher(pg_db, check_every_s=0)
    try:
        watcher.check()
        assert watcher.current.rules == ()
        assert watcher.check() is False
        with connect(pg_db, autocommit=True) as conn:
            row = pg_rules.create_rule(conn, {**BIG, "state": "active"}, actor="ana")
            pg_rules.create_rule(conn, {**BIG, "name": "draft-one"}, actor="ana")
        assert watcher.check() is True
        assert [r.id for r in watcher.current.active] == [row["id"]]
        with connect(pg_db, autocommit=True) as conn:
            pg_rules.update_rule(conn, row["id"], {"state": "shadow"}, actor="ana")
        assert watcher.check() is True
        assert watcher.current.active == () and [r.name for r in watcher.current.shadow] == ["big"]
    finally:
        watcher.close()


def test_rule_columns_round_trip_through_the_sink(pg_db: str) -> None:
    frame = prediction_frame(6)
    frame["rule_ids"] = [["3", "1"], [], ['q"u{o}te'], [], [], ["2"]]
    frame["rule_action"] = ["block", None, "review", None, None, "allow"]
    frame["shadow_rule_ids"] = [[], ["4"], [], [], [], []]
    sink = PostgresSink(pg_db)
    sink.setup()
    try:
        assert sink.upsert(PredictionBatch.of(frame), batch_id="b1") == 6
        assert sink.upsert(PredictionBatch.of(frame), batch_id="b1") == 0  # an identical replay changes nothing
        frame.loc[1, "rule_action"] = "allow"
        assert sink.upsert(PredictionBatch.of(frame), batch_id="b1") == 0  # the first decision is kept
    finally:
        sink.close()
    with connect(pg_db) as conn:
        rows = conn.execute(
            "SELECT transaction_id, rule_ids, rule_action, shadow_rule_ids FROM fraud_predictions ORDER BY transaction_id"
        ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    assert got["tx0"] == (["3", "1"], "block", [])
    assert got["tx1"] == ([], None, ["4"])
    assert got["tx2"] == (['q"u{o}te'], "review", [])
