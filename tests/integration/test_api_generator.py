"""``POST /v1/generator`` takes the CLI's ``--drift``: bad values are 422, good ones shape the published stream."""

from __future__ import annotations

import time

import msgspec
import numpy as np
import pytest

from tests.fixtures.engine import read_topic

pytestmark = pytest.mark.integration

BAD = [
    {"drift": ["speed"]},
    {"drift": ["amount:x"]},
    {"drift": ["category:2"]},
    {"drift": ["amount", "amount:3"]},
    {"drift": ["amount", "category", "fraud-mix", "amount"]},
    {"drift": ["a" * 41]},
    {"drift": "amount"},
    {"drift_days": 0},
    {"drift_days": 366},
]


def test_bad_drift_is_a_client_error_and_changes_nothing(api_stack) -> None:
    c, h = api_stack.client, api_stack.headers
    before = c.get("/v1/generator", headers=h).json()
    assert before["drift"] == [] and before["drift_days"] > 0
    for body in BAD:
        r = c.post("/v1/generator", json=body, headers=h)
        assert r.status_code == 422, (body, r.status_code, r.text)
    r = c.post("/v1/generator", content=b'{"drift_days": NaN}', headers={**h, "content-type": "application/json"})
    assert r.status_code == 422
    assert c.get("/v1/generator", headers=h).json() == before


def test_drift_set_through_the_api_shifts_the_published_amounts(api_stack) -> None:
    c, h = api_stack.client, api_stack.headers
    body = {"drift": ["amount:6", "fraud_mix"], "drift_days": 0.01, "tps": 400, "running": True}
    r = c.post("/v1/generator", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["drift"] == ["amount:6", "fraud-mix:2"] and r.json()["drift_days"] == 0.01
    try:
        deadline = time.monotonic() + 120
        while c.get("/v1/generator", headers=h).json()["sent"] < 7_000 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        status = c.post("/v1/generator", json={"running": False, "drift": []}, headers=h).json()
    assert status["sent"] >= 7_000 and status["error"] is None and status["drift"] == []
    rows = [
        msgspec.json.decode(m.value()) for m in read_topic(api_stack.bootstrap, api_stack.settings.topic_transactions)
    ]
    rows.sort(key=lambda t: t["event_time"])
    amounts = np.array([t["amount"] for t in rows])
    # 0.01 simulated days at 400 tx/s and 60 simulated s per s is ~5,800 transactions: the tail is at full strength
    assert np.median(amounts[-1_000:]) > 3 * np.median(amounts[:500])
