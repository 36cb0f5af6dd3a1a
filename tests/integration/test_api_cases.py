"""The case queue and webhooks through the API (real broker, PostgreSQL, model, HTTP receiver)."""

from __future__ import annotations

import json

import psycopg
import pytest

from fraudguard import schema
from fraudguard.generator import generate_frame
from fraudguard.io.broker import free_port
from fraudguard.webhooks.receiver import Receiver
from tests.fixtures.engine import wait_for

pytestmark = pytest.mark.integration
SECRET = "whsec_api_test_0123456789"


def test_alert_opens_case_triage_and_webhooks(api_stack) -> None:
    c, h = api_stack.client, {**api_stack.headers, "X-Actor": "ana"}
    receiver = Receiver(free_port(), SECRET)
    receiver.start()
    try:
        hook = c.post(
            "/v1/webhooks",
            json={"url": receiver.url, "events": ["alert.created", "case.resolved"], "secret": SECRET},
            headers=h,
        )
        assert hook.status_code == 201 and hook.json()["secret"] == SECRET
        assert (
            "secret" not in c.get("/v1/webhooks", headers=h).json()[0]
            or c.get("/v1/webhooks", headers=h).json()[0]["secret"] is None
        )
        assert (
            c.post("/v1/webhooks", json={"url": "ftp://x", "events": ["alert.created"]}, headers=h).status_code == 422
        )
        rule = {"name": "cases-all", "condition": "amount >= 0", "action": "review", "state": "active"}
        rid = c.post("/v1/rules", json=rule, headers=h).json()["id"]
        frame = generate_frame(3, seed=3, customers=50, merchants=30)
        frame["card_id"] = ["card-case-1", "card-case-1", "card-case-2"]
        bodies = schema.encode_many(schema.from_frame(frame))

        def scored_by_rule() -> bool:
            out = json.loads(c.post("/v1/score?record=false", content=bodies[0], headers=h).content)
            return out["rule_ids"] == [str(rid)]

        wait_for(scored_by_rule, 30, "the rule to reach the API")
        c.post("/v1/score", content=b"[" + b",".join(bodies) + b"]", headers=h)
        with c.websocket_connect("/ws/cases") as ws:

            def cases() -> list:
                return c.get("/v1/cases?status=open", headers=h).json()["items"]

            wait_for(lambda: len([x for x in cases() if x["card_id"].startswith("card-case")]) == 2, 30, "cases")
            mine = {x["card_id"]: x for x in cases()}
            grouped = mine["card-case-1"]
            assert grouped["alerts"] == 2
            assert c.post(f"/v1/cases/{grouped['id']}/assign", json={"assignee": "ana"}).status_code == 401
            assigned = c.post(f"/v1/cases/{grouped['id']}/assign", json={"assignee": "ana"}, headers=h).json()
            assert assigned["status"] == "in_review"
            seen = [json.loads(ws.receive_text())["case"]]  # opener's messages may come first
            while not any(x["id"] == grouped["id"] and x["status"] == "in_review" for x in seen):
                seen.append(json.loads(ws.receive_text())["case"])
        c.post(f"/v1/cases/{grouped['id']}/notes", json={"text": "looks like testing"}, headers=h)
        done = c.post(f"/v1/cases/{grouped['id']}/resolve", json={"outcome": "legitimate"}, headers=h)
        assert done.status_code == 200 and done.json()["status"] == "legitimate"
        assert (
            c.post(f"/v1/cases/{grouped['id']}/resolve", json={"outcome": "legitimate"}, headers=h).status_code == 409
        )
        assert c.post("/v1/cases/999999/resolve", json={"outcome": "legitimate"}, headers=h).status_code == 404
        detail = c.get(f"/v1/cases/{grouped['id']}", headers=h).json()
        assert [e["kind"] for e in detail["events"]] == ["opened", "alert_added", "assigned", "note", "resolved"]
        assert detail["events"][2]["actor"].startswith("ana (key ")
        assert all(a["rule_ids"] == [str(rid)] for a in detail["alert_list"])
        tx = detail["alert_list"][0]["transaction_id"]
        assert c.get(f"/v1/transactions/{tx}", headers=h).json()["label"] is False
        page1 = c.get("/v1/cases?limit=1", headers=h).json()
        page2 = c.get(f"/v1/cases?limit=1&before={page1['next_cursor']}", headers=h).json()
        assert page2["items"][0]["id"] < page1["items"][0]["id"]

        def delivered() -> bool:
            types = [b["type"] for b in receiver.bodies]
            return types.count("alert.created") >= 3 and "case.resolved" in types

        wait_for(delivered, 60, "webhooks for the alerts and the resolution")
        assert receiver.bad_signatures == 0
        deliveries = c.get("/v1/webhooks/deliveries", headers=h).json()
        assert {d["type"] for d in deliveries} >= {"alert.created", "case.resolved"}
    finally:
        receiver.stop()
        with psycopg.connect(api_stack.database_url, autocommit=True) as conn:
            conn.execute("UPDATE rules SET state = 'draft' WHERE name = 'cases-all'")
            conn.execute("UPDATE rules_revision SET revision = revision + 1")
            conn.execute("UPDATE webhook_endpoints SET active = false")
