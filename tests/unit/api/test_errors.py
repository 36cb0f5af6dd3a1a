"""One mapping from exception to answer (``status_for``), used by the route and the fast path alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from psycopg_pool import PoolTimeout

from fraudguard import schema
from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing
from fraudguard.api.errors import error_response, status_for
from fraudguard.api.services import Services
from fraudguard.config import Settings
from fraudguard.errors import (
    BrokerError,
    ConfigError,
    DatabaseError,
    FraudGuardError,
    ModelError,
    StateStoreError,
    ValidationError,
)
from fraudguard.generator import generate_frame
from tests.unit.api.scoring_stub import FailingScoring

KEY = "errors-key-0123456789"


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (HTTPException(401, "missing"), 401),
        (HTTPException(403, "bad"), 403),
        (HTTPException(409, "conflict"), 409),
        (HTTPException(413, "too big"), 413),
        (ValidationError("amount", "must be positive"), 422),
        (DatabaseError("down"), 503),
        (PoolTimeout("no connection"), 503),
        (BrokerError("down"), 503),
        (ModelError("missing"), 503),
        (StateStoreError("redis"), 503),
        (ConfigError("odd"), 503),
        (FraudGuardError("any"), 503),
        (RuntimeError("a bug"), 500),
        (KeyError("a bug"), 500),
    ],
)
def test_status_for(exc: BaseException, status: int) -> None:
    assert status_for(exc) == status


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (DatabaseError("x"), "database unavailable"),
        (PoolTimeout("x"), "database unavailable"),
        (BrokerError("x"), "broker unavailable"),
        (ModelError("x"), "model unavailable"),
        (StateStoreError("x"), "service unavailable"),
    ],
)
def test_unavailable_details_name_the_dependency_not_the_cause(exc: BaseException, detail: str) -> None:
    r = error_response(exc)
    assert r.status_code == 503 and r.body == f'{{"detail":"{detail}"}}'.encode()


def test_validation_error_names_the_field_and_http_errors_keep_headers() -> None:
    r = error_response(ValidationError("0.amount", "must be positive"))
    assert (r.status_code, r.body) == (
        422,
        b'{"detail":[{"loc":["body",0,"amount"],"msg":"must be positive","type":"value_error"}]}',
    )
    r = error_response(HTTPException(401, "no key", headers={"WWW-Authenticate": "ApiKey"}))
    assert (r.status_code, r.headers["www-authenticate"]) == (401, "ApiKey")
    with pytest.raises(TypeError):
        error_response(RuntimeError("a bug"))


@pytest.fixture(scope="module")
def failing() -> Iterator[tuple[TestClient, FailingScoring]]:
    settings = Settings(api_keys=KEY)
    scoring = FailingScoring(ValidationError("amount", "refused by scoring"))
    services = Services(settings=settings, keys=KeyRing([KEY]), scoring=scoring)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as c:
        yield c, scoring


@pytest.mark.parametrize(
    "error", [ValidationError("amount", "refused by scoring"), DatabaseError("down"), PoolTimeout("x"), RuntimeError()]
)
def test_fast_path_and_route_answer_a_scoring_error_alike(failing, error: Exception) -> None:
    c, scoring = failing
    scoring.error = error
    body = schema.encode_many(schema.from_frame(generate_frame(1, seed=2)))[0]
    h = {"X-API-Key": KEY}
    fast = c.post("/v1/score?record=false", content=body, headers=h)  # answered by the fast path
    route = c.post("/v1/score?record=False", content=body, headers=h)  # not a fast-path spelling
    assert fast.status_code == route.status_code == status_for(error)  # the fast path said 503 to a 422
    assert fast.content == route.content
