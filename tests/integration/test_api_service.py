"""The API against the real broker, PostgreSQL and a trained model (see tests/fixtures/api.py)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from fraudguard import schema
from fraudguard.generator import generate_frame
from fraudguard.metrics.core import MODELS
from tests.fixtures.engine import publish_values, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    frame = generate_frame(400, fraud_rate=0.1, seed=99, customers=2_000, merchants=400)
    return schema.encode_many(schema.from_frame(frame))


def test_ready_reports_every_dependency(api_stack) -> None:
    r = api_stack.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert {k: v["ok"] for k, v in r.json()["checks"].items()} == {"database": True, "broker": True, "model": True}


def test_keys_are_required_on_post(api_stack, bodies) -> None:
    c = api_stack.client
    assert c.post("/v1/score", content=bodies[0]).json()["detail"].startswith("missing API key")
    assert c.post("/v1/score", content=bodies[0]).status_code == 401
    assert c.post("/v1/score", content=bodies[0], headers={"X-API-Key": "nope"}).status_code == 403
    assert c.post("/v1/score?record=false", content=bodies[0], headers={"X-API-Key": "second-key"}).status_code == 200


def test_what_if_changes_nothing_and_record_is_stored(api_stack, bodies) -> None:
    c, h = api_stack.client, api_stack.headers
    tx = json.loads(bodies[1])
    first = c.post("/v1/score?record=false", content=bodies[1], headers=h).json()
    again = c.post("/v1/score?record=false", content=bodies[1], headers=h).json()
    assert first == again and first["recorded"] is False
    assert c.get(f"/v1/transactions/{tx['transaction_id']}").status_code == 404
    rec = c.post("/v1/score", content=bodies[1], headers=h).json()
    assert rec["scores"] == first["scores"] and rec["recorded"] is True
    stored = c.get(f"/v1/transactions/{tx['transaction_id']}").json()
    assert stored["scores"] == pytest.approx(rec["scores"]) and stored["decision"] == rec["decision"]
    risk = c.get(f"/v1/cards/{tx['card_id']}/risk").json()
    assert risk["transactions"] >= 1 and risk["risk_level"] in ("low", "medium", "high")
    missing = c.get("/v1/cards/no-such-card/risk")
    assert (missing.status_code, missing.json()["detail"]) == (404, "card not found")


def test_concurrent_single_requests_match_direct_scoring(api_stack, bodies) -> None:
    """Micro-batched what-ifs score exactly as each transaction scored alone, without the batcher."""
    c, h = api_stack.client, api_stack.headers
    services = c.app.state.services
    batch = bodies[10:70]
    with ThreadPoolExecutor(16) as pool:
        singles = list(pool.map(lambda b: c.post("/v1/score?record=false", content=b, headers=h).json(), batch))
    for body, s in zip(batch, singles, strict=True):
        (direct,) = services.scoring.process([([schema.decode_transaction(body)], False)])[0]
        assert s["transaction_id"] == direct.transaction_id
        assert s["scores"] == pytest.approx(direct.scores, abs=1e-6)
        assert s["ensemble_score"] == pytest.approx(direct.ensemble_score, abs=1e-6)


def test_validation_names_the_field_and_sizes_are_bounded(api_stack, bodies) -> None:
    c, h = api_stack.client, api_stack.headers
    bad = json.loads(bodies[2]) | {"amount": -5}
    r = c.post("/v1/score", json=[json.loads(bodies[3]), bad], headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", 1, "amount"]
    assert c.post("/v1/score", json=[json.loads(bodies[3])] * 1001, headers=h).status_code == 413
    assert c.post("/v1/score", content=b" " * 2_000_000, headers=h).status_code == 413
    assert c.get("/v1/alerts?min_score=2").status_code == 422


def test_recorded_alerts_are_listed_with_filters_and_pages(api_stack, bodies) -> None:
    c, h = api_stack.client, api_stack.headers
    out = c.post("/v1/score", content=b"[" + b",".join(bodies[100:400]) + b"]", headers=h).json()["predictions"]
    frauds = [p for p in out if p["decision"] == "fraud"]
    seen, cursor = [], None
    while True:
        q = "/v1/alerts?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = c.get(q).json()
        seen += [i["transaction_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert {p["transaction_id"] for p in frauds} <= set(seen) and len(seen) == len(set(seen))
    high = c.get("/v1/alerts?min_score=0.9&decision=all&limit=1000").json()["items"]
    assert all(i["ensemble_score"] >= 0.9 for i in high)
    stats = c.get("/v1/stats").json()
    assert stats["database"]["total"] >= 300


def test_labels_reach_postgres_and_the_metrics(api_stack, bodies) -> None:
    c, h = api_stack.client, api_stack.headers
    tx = json.loads(bodies[5])
    c.post("/v1/score", content=bodies[5], headers=h)
    wait_for(
        lambda: c.get("/v1/stats").json()["live"]["windows"]["cumulative"]["transactions"] > 0,
        20,
        "the tracker to see predictions",
    )
    before = c.get("/v1/stats").json()["live"]["labels_applied"]
    r = c.post(
        "/v1/labels", json={"transaction_id": tx["transaction_id"], "is_fraud": True, "source": "chargeback"}, headers=h
    )
    assert r.status_code == 200 and r.json()["updated_predictions"] == 1
    assert c.get(f"/v1/transactions/{tx['transaction_id']}").json()["label"] is True
    wait_for(lambda: c.get("/v1/stats").json()["live"]["labels_applied"] > before, 20, "the label to reach the metrics")
    assert c.post("/v1/labels", json={"transaction_id": "x", "is_fraud": "maybe"}, headers=h).status_code == 422


def _prediction(i: int, rng: np.random.Generator) -> schema.Prediction:
    y = bool(rng.random() < 0.2)
    s = np.clip(rng.normal(0.35 + 0.4 * y, 0.2, 4), 0, 1)
    now = datetime.now(UTC)
    return schema.Prediction(
        transaction_id=f"m{i}-{now.timestamp()}", card_id="c", event_time=now, amount=10.0, merchant_id="m",
        merchant_category="retail", scores=dict(zip(MODELS[:3], s[:3].tolist(), strict=True)), ensemble_score=float(s[3]),
        threshold=0.5, decision="fraud" if s[3] >= 0.5 else "legit", reasons=[], model_version="v", is_fraud=y,
        produced_at=now, scored_at=now,
    )  # fmt: skip


def test_metrics_match_sklearn_and_websockets_receive_live_alerts(api_stack) -> None:
    c, s = api_stack.client, api_stack.settings
    wait_for(lambda: c.get("/v1/stats").json()["live"]["windows"]["cumulative"]["transactions"] >= 0, 5, "stats")
    start = c.get("/v1/stats").json()["live"]["windows"]["cumulative"]
    rng = np.random.default_rng(5)
    preds = [_prediction(i, rng) for i in range(600)]
    alerts = [p for p in preds if p.decision == "fraud"][:5]
    with c.websocket_connect("/ws/alerts") as ws_alerts, c.websocket_connect("/ws/transactions") as ws_tx:
        time.sleep(0.2)
        publish_values(api_stack.bootstrap, s.topic_predictions, schema.encode_many(preds))
        publish_values(api_stack.bootstrap, s.topic_alerts, schema.encode_many(alerts))
        wanted, got = {a.transaction_id for a in alerts}, set()
        for _ in range(500):  # partitions interleave; earlier recorded alerts may come too
            got.add(json.loads(ws_alerts.receive_text())["transaction_id"])
            if wanted <= got:
                break
        assert wanted <= got
        assert json.loads(ws_tx.receive_text())["transaction_id"]
    total = start["transactions"] + len(preds)
    wait_for(lambda: c.get("/v1/stats").json()["live"]["windows"]["cumulative"]["transactions"] >= total, 30, "metrics")
    live = c.get("/v1/stats").json()["live"]
    cum = live["windows"]["cumulative"]["models"]
    y = np.array([p.is_fraud for p in preds], dtype=int)
    text = c.get("/metrics").text
    for _j, m in enumerate(MODELS):
        scores = np.array([p.scores.get(m, p.ensemble_score) for p in preds])
        thr = live["thresholds"].get(m) or 0.5
        tn, fp, fn, tp = confusion_matrix(y, (scores >= thr).astype(int), labels=[0, 1]).ravel()
        before = start["models"][m]
        assert [cum[m][k] - before[k] for k in ("tp", "fp", "tn", "fn")] == [tp, fp, tn, fn], m
        assert f'fraudguard_confusion{{cell="tp",model="{m}",window="cumulative"}} {float(cum[m]["tp"])}' in text
