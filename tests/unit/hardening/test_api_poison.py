"""The API answers 4xx, never 5xx, to the bodies that used to crash it (issue 11, failures 1 and 3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing
from fraudguard.api.services import Services, make_scoring
from fraudguard.bench.fuzz import VALID, deep
from fraudguard.config import Settings
from tests.browser.stack import train_tiny_model

KEY = "unit-key-0123456789abcdef"
H = {"X-API-Key": KEY, "content-type": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from fraudguard.models.scorer import Scorer

    state = tmp_path_factory.mktemp("poison")
    settings = Settings(state_dir=Path(state), api_keys=KEY, environment="development")
    train_tiny_model(settings.models_dir, rows=2_000)
    services = Services(settings=settings, keys=KeyRing([KEY]))
    services.scoring = make_scoring(settings, Scorer.load(settings.models_dir), None)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as c:
        yield c


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
