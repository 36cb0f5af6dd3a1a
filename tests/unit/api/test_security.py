"""One auth decision for every door: ``key_allowed`` alone, then REST, the fast path, /metrics and WebSockets.

Every combination of presented key (none, empty, wrong, a key from ``FRAUDGUARD_API_KEYS``,
a stored key) and access (read, write), with reads open and with reads requiring a key,
must give the same verdict at every door. The expected verdicts are written out as tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fraudguard import schema
from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing, create_key
from fraudguard.api.security import (
    Access,
    KeyPolicy,
    Verdict,
    key_allowed,
    key_protocols,
    load_keys,
    presented_key,
)
from fraudguard.api.services import Services
from fraudguard.config import Settings
from fraudguard.generator import generate_frame
from tests.unit.api.scoring_stub import FailingScoring

ENV_KEY = "env-key-0123456789"
KINDS = ("none", "empty", "wrong", "env", "stored")
A, M, I = Verdict.ALLOWED, Verdict.MISSING, Verdict.INVALID  # noqa: E741
KEY_NEEDED = {"none": M, "empty": M, "wrong": I, "env": A, "stored": A}
OPEN = {"none": A, "empty": A, "wrong": A, "env": A, "stored": A}


def expected(kind: str, access: Access, read_requires_key: bool) -> Verdict:
    """Writes always need a key; reads only when configured so."""
    table = KEY_NEEDED if access is Access.WRITE or read_requires_key else OPEN
    return table[kind]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    root = tmp_path_factory.mktemp("security")
    stored = create_key(root, "ops")
    return root, {"none": None, "empty": "", "wrong": ENV_KEY + "x", "env": ENV_KEY, "stored": stored}


@pytest.mark.parametrize("read_requires_key", [False, True])
@pytest.mark.parametrize("access", list(Access))
@pytest.mark.parametrize("kind", KINDS)
def test_key_allowed(state, kind: str, access: Access, read_requires_key: bool) -> None:
    root, keys = state
    policy = KeyPolicy(KeyRing.from_settings([ENV_KEY], root), read_requires_key)
    verdict = key_allowed(policy, keys[kind], access)
    assert verdict is expected(kind, access, read_requires_key)
    assert bool(verdict) is (verdict is Verdict.ALLOWED)


def test_no_keys_at_all_refuses_every_write_and_guarded_read() -> None:
    empty = KeyPolicy(KeyRing(), read_requires_key=True)
    for key in (None, "", "anything"):
        assert not key_allowed(empty, key, Access.WRITE)
        assert not key_allowed(empty, key, Access.READ)


def _scope(kind: str, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, object]:
    return {"type": kind, "headers": headers, "query_string": query}


def test_presented_key_comes_from_the_header_or_a_websocket_protocol_never_the_url() -> None:
    proto = [(b"sec-websocket-protocol", ", ".join(key_protocols("pk")).encode())]
    assert presented_key(_scope("http", [(b"x-api-key", b"hk")])) == "hk"
    assert presented_key(_scope("http", [(b"x-api-key", b"")])) is None
    assert presented_key(_scope("http", [(b"x-api-key", b"one"), (b"x-api-key", b"two")])) == "one"
    assert presented_key(_scope("http", proto)) is None  # a subprotocol means nothing to HTTP
    assert presented_key(_scope("http", [], b"api_key=qk")) is None
    assert presented_key(_scope("websocket", [], b"api_key=qk")) is None
    assert presented_key(_scope("websocket", proto)) == "pk"
    assert presented_key(_scope("websocket", [(b"x-api-key", b"hk"), *proto])) == "hk"
    assert presented_key(_scope("websocket", [(b"sec-websocket-protocol", b"fraudguard, fg-key.%%%")])) == ""
    unicode = [(b"sec-websocket-protocol", ", ".join(key_protocols("clé-ü")).encode())]
    assert presented_key(_scope("websocket", unicode)) == "clé-ü"


def test_load_keys_prints_a_development_key_once_when_none_is_configured(tmp_path, capfd) -> None:
    ring = load_keys(Settings(state_dir=tmp_path))
    printed = [w for w in capfd.readouterr().err.split() if w.startswith("fg_dev_")]
    assert len(printed) == 1 and len(ring) == 1 and ring.accepts(printed[0])
    stored = create_key(tmp_path, "ops")
    ring = load_keys(Settings(state_dir=tmp_path, api_keys=ENV_KEY))
    assert "fg_dev_" not in capfd.readouterr().err
    assert ring.accepts(stored) and ring.accepts(ENV_KEY) and not ring.accepts(printed[0])


@pytest.fixture(scope="module", params=[False, True], ids=["reads-open", "reads-need-key"])
def door(request, state) -> Iterator[tuple[TestClient, dict[str, str | None], bool]]:
    root, keys = state
    settings = Settings(state_dir=root, api_keys=ENV_KEY, api_read_requires_key=request.param)
    services = Services(settings=settings, keys=load_keys(settings), scoring=FailingScoring())
    with TestClient(create_app(settings, services=services)) as c:
        yield c, keys, request.param


def _headers(key: str | None) -> dict[str, str]:
    return {} if key is None else {"X-API-Key": key}


def _http_verdict(status: int) -> Verdict:
    return {401: Verdict.MISSING, 403: Verdict.INVALID}.get(status, Verdict.ALLOWED)


BODY = schema.encode_many(schema.from_frame(generate_frame(1, seed=9)))[0]
REST = [
    ("POST", "/v1/generator", Access.WRITE),
    ("POST", "/v1/score?record=false", Access.WRITE),  # the fast path's spelling
    ("POST", "/v1/score?record=False", Access.WRITE),  # the route's
    ("POST", "/v1/labels", Access.WRITE),
    ("GET", "/v1/stats", Access.READ),
    ("GET", "/v1/generator", Access.READ),
    ("GET", "/metrics", Access.READ),
    ("GET", "/readyz", Access.READ),
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_http_door_gives_the_same_verdict(door, kind: str) -> None:
    c, keys, read_requires_key = door
    for method, path, access in REST:
        content = BODY if path.startswith("/v1/score") else b"{}"
        r = c.request(method, path, content=content, headers=_headers(keys[kind]))
        assert _http_verdict(r.status_code) is expected(kind, access, read_requires_key), (method, path, r.text)
        if r.status_code == 401:
            assert r.headers["www-authenticate"] == "ApiKey"
        if path.startswith("/v1/score") and _http_verdict(r.status_code) is Verdict.ALLOWED:
            assert (r.status_code, r.json()) == (503, {"detail": "database unavailable"})  # past auth: scored
    assert c.get("/healthz", headers=_headers(keys[kind])).status_code == 200  # never checked


@pytest.mark.parametrize("transport", ["header", "subprotocol"])
@pytest.mark.parametrize("kind", KINDS)
def test_websockets_give_the_same_verdict_as_rest_reads(door, kind: str, transport: str) -> None:
    c, keys, read_requires_key = door
    key = keys[kind]
    offer = {} if key is None or transport == "header" else {"subprotocols": key_protocols(key)}
    headers = _headers(key) if transport == "header" else {}
    want = expected(kind, Access.READ, read_requires_key)
    if want:
        with c.websocket_connect("/ws/metrics", headers=headers, **offer) as ws:
            assert "windows" in ws.receive_text()
            assert ws.accepted_subprotocol == ("fraudguard" if offer else None)
    else:
        with pytest.raises(WebSocketDisconnect) as closed, c.websocket_connect("/ws/alerts", headers=headers, **offer):
            pass
        assert (closed.value.code, closed.value.reason) == (1008, want.value)
