"""The API answers 4xx, never 5xx, to the bodies that used to crash it (issue 11, failures 1 and 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from fraudguard.bench.fuzz import VALID, deep
from tests.unit.hardening.conftest import H


@pytest.mark.parametrize(
    "body",
    [
        b'{"transaction_id":"\xff"}',
        VALID.replace(b'"t-1"', b'"t-\xff"'),
        deep(1_000),
        deep(1_000, b'{"a":', b"}"),
        b"[" + deep(1_000) + b"]",
    ],
    ids=["utf8-alone", "utf8-in-valid", "deep-array", "deep-object", "deep-in-list"],
)
@pytest.mark.parametrize("record", ["false", "true"])
def test_poison_bodies_get_422(client: TestClient, body: bytes, record: str) -> None:
    r = client.post(f"/v1/score?record={record}", content=body, headers=H)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["msg"]


def test_future_event_gets_422(client: TestClient) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = VALID.replace(b"2026-01-01T12:00:00Z", future.encode())
    r = client.post("/v1/score?record=false", content=body, headers=H)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "event_time"]
    assert client.post("/v1/score?record=false", content=VALID, headers=H).status_code == 200


def test_api_drops_extras_the_model_does_not_use(client: TestClient) -> None:
    scoring = client.app.state.services.scoring  # type: ignore[attr-defined]
    before = scoring.extras_dropped
    body = VALID.replace(b'{"V1":0.5}', b"{" + b",".join(b'"n%d":1' % j for j in range(100)) + b"}")
    r = client.post("/v1/score?record=false", content=body, headers=H)
    assert r.status_code == 200
    assert scoring.extras_dropped - before == 100  # the tiny model uses no extras
