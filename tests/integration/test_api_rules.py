"""Rules through the API: keys, refusals with positions, versions and audit, hot reload, backtest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fraudguard import schema
from fraudguard.generator import generate_frame
from fraudguard.io.backtest import synthetic_history
from tests.fixtures.engine import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    frame = generate_frame(50, fraud_rate=0.1, seed=7, customers=500, merchants=100)
    return schema.encode_many(schema.from_frame(frame))


def test_rule_lifecycle_and_hot_reload_in_scoring(api_stack, bodies) -> None:
    c, h = api_stack.client, {**api_stack.headers, "X-Actor": "ana"}
    rule = {"name": "everything-api", "condition": "amount >= 0", "action": "review", "priority": 5, "owner": "ana"}
    assert c.post("/v1/rules", json=rule).status_code == 401
    bad = c.post("/v1/rules", json={**rule, "condition": "amount >= 0 and __import__('os')"}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["msg"] == "line 1, column 17: function calls are not allowed"
    assert bad.json()["detail"][0]["loc"] == ["body", "condition"]
    created = c.post("/v1/rules", json=rule, headers=h)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert c.post("/v1/rules", json=rule, headers=h).status_code == 422  # name taken

    draft = json.loads(c.post("/v1/score?record=false", content=bodies[0], headers=h).content)
    assert draft["rule_ids"] == []  # a draft never decides

    assert c.put(f"/v1/rules/{rid}", json={"state": "active"}, headers={**h, "X-Actor": "bob"}).status_code == 200
    assert c.put("/v1/rules/999999", json={"state": "active"}, headers=h).status_code == 404

    def decided() -> bool:
        out = json.loads(c.post("/v1/score?record=false", content=bodies[1], headers=h).content)
        return out["rule_ids"] == [str(rid)] and out["rule_action"] == "review" and out["decision"] == "fraud"

    wait_for(decided, 30, "the API to pick up the activated rule at a batch boundary")
    stored = c.post("/v1/score", content=bodies[2], headers=h).json()
    row = c.get(f"/v1/transactions/{stored['transaction_id']}", headers=h).json()
    assert row["rule_ids"] == [str(rid)] and row["rule_action"] == "review"

    listed = c.get("/v1/rules?state=active", headers=h).json()
    assert [r["name"] for r in listed] == ["everything-api"] and listed[0]["version"] == 2
    history = c.get(f"/v1/rules/{rid}/history", headers=h).json()
    assert [v["state"] for v in history["versions"]] == ["draft", "active"]
    actors = [a["actor"] for a in history["audit"]]
    assert actors[0].startswith("ana (key ") and actors[1].startswith("bob (key ")
    assert history["audit"][1]["diff"] == {"state": ["draft", "active"]}
    assert c.put(f"/v1/rules/{rid}", json={"state": "draft"}, headers=h).status_code == 200


def test_backtest_endpoint(api_stack) -> None:
    c, h = api_stack.client, api_stack.headers
    root = api_stack.settings.parquet_dir
    from datetime import UTC, datetime

    day = (datetime.now(UTC) - timedelta(hours=30)).date().isoformat()
    synthetic_history(root, 4000, day=day)
    out = c.post("/v1/rules/backtest", json={"condition": "amount > 300", "since": "3d"}, headers=h)
    assert out.status_code == 200, out.text
    body = out.json()
    assert body["rows"] >= 4000 and body["days"][0]["hits"] > 0
    bad = c.post("/v1/rules/backtest", json={"condition": "card_count_1h > 3"}, headers=h)
    assert bad.status_code == 422 and "unknown field 'card_count_1h'" in bad.json()["detail"][0]["msg"]
    assert (
        c.post("/v1/rules/backtest", json={"condition": "amount > 1", "since": "forever"}, headers=h).status_code == 422
    )
