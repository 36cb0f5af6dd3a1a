"""The lean ``POST /v1/score`` path answers exactly what the FastAPI route answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from fastapi.testclient import TestClient

from fraudguard import schema
from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing
from fraudguard.api.services import Services, make_scoring
from fraudguard.config import Settings
from fraudguard.generator import generate_frame
from fraudguard.records import ScoreBatch, ScoreResult
from tests.browser.stack import train_tiny_model

KEY = "unit-key-0123456789abcdef"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from fraudguard.models.scorer import Scorer

    state = tmp_path_factory.mktemp("fastpath")
    settings = Settings(state_dir=Path(state), api_keys=KEY, environment="development")
    train_tiny_model(settings.models_dir, rows=3_000)
    services = Services(settings=settings, keys=KeyRing([KEY]))
    services.scoring = make_scoring(settings, Scorer.load(settings.models_dir), None)
    with TestClient(create_app(settings, services=services)) as c:
        yield c


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    return schema.encode_many(schema.from_frame(generate_frame(6, fraud_rate=0.3, seed=5)))


def test_fast_and_route_answers_are_equal(client: TestClient, bodies: list[bytes]) -> None:
    h = {"X-API-Key": KEY}
    fast = client.post("/v1/score?record=false", content=bodies[0], headers=h)
    route = client.post("/v1/score?record=False", content=bodies[0], headers=h)  # not a fast-path spelling
    assert fast.status_code == route.status_code == 200
    assert fast.headers["content-type"] == "application/json"
    assert fast.json() == route.json()
    msgspec.json.decode(fast.content, type=ScoreResult)
    batch = b"[" + b",".join(bodies[1:4]) + b"]"
    fast_b = client.post("/v1/score?record=false", content=batch, headers=h)
    route_b = client.post("/v1/score?record=0", content=batch, headers=h)
    assert fast_b.json() == route_b.json()
    assert [p.transaction_id for p in msgspec.json.decode(fast_b.content, type=ScoreBatch).predictions] == [
        schema.decode_transaction(b).transaction_id for b in bodies[1:4]
    ]


def test_recorded_call_says_so(client: TestClient, bodies: list[bytes]) -> None:
    r = client.post("/v1/score", content=bodies[4], headers={"X-API-Key": KEY})
    assert r.status_code == 200 and r.json()["recorded"] is True


def test_refusals_keep_the_route_details(client: TestClient, bodies: list[bytes]) -> None:
    assert client.post("/v1/score", content=bodies[0]).status_code == 401
    assert client.post("/v1/score", content=bodies[0], headers={"X-API-Key": "wrong"}).status_code == 403
    bad = client.post("/v1/score?record=maybe", content=bodies[0], headers={"X-API-Key": KEY})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "record"]
    body = schema.decode_transaction(bodies[0])
    broken = bodies[0].replace(f'"{body.card_id}"'.encode(), b"12", 1)
    r = client.post("/v1/score?record=false", content=broken, headers={"X-API-Key": KEY})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "card_id"]


def test_bodies_over_the_limit_get_the_limits_413(client: TestClient, bodies: list[bytes]) -> None:
    """A declared or streamed oversized body on a fast-path spelling gets the body limit's 413."""
    h = {"X-API-Key": KEY}
    limit = Settings().api_max_body_bytes
    declared = client.post("/v1/score?record=false", content=b" " * (limit + 1), headers=h)
    assert declared.status_code == 413 and "too large" in declared.json()["detail"].lower()

    def chunks() -> Iterator[bytes]:  # no content-length: the limit is found while reading
        yield bodies[0]
        yield b" " * limit

    streamed = client.post("/v1/score?record=false", content=chunks(), headers=h)
    assert streamed.status_code == 413 and streamed.json() == declared.json()
    # the same path still answers a body at the limit's side
    ok = client.post("/v1/score?record=false", content=bodies[0] + b" " * (limit - len(bodies[0])), headers=h)
    assert ok.status_code == 200
