"""API keys: plain keys from settings, hashed stored keys, 401/403 with stable details."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing, create_key, key_file
from fraudguard.api.deps import BAD_KEY, NO_KEY
from fraudguard.api.security import key_protocols
from fraudguard.api.services import Services
from fraudguard.config import Settings
from fraudguard.errors import ConfigError


def client(tmp_path, **overrides) -> TestClient:
    settings = Settings(state_dir=tmp_path, **overrides)
    services = Services(settings=settings, keys=KeyRing.from_settings(settings.api_key_list, tmp_path))
    return TestClient(create_app(settings, services=services))


def test_stored_keys_are_hashed_and_accepted(tmp_path) -> None:
    key = create_key(tmp_path, "ci")
    stored = key_file(tmp_path).read_text()
    assert key not in stored and json.loads(stored)["keys"][0]["name"] == "ci"
    with client(tmp_path) as c:
        # no model here: a right key passes auth and reaches the route, which answers 503
        assert c.post("/v1/generator", json={}, headers={"X-API-Key": key}).status_code == 503
        assert c.post("/v1/generator", json={}, headers={"X-API-Key": key + "x"}).json()["detail"] == BAD_KEY
        r = c.post("/v1/generator", json={})
        assert (r.status_code, r.json()["detail"]) == (401, NO_KEY)


def test_env_keys_and_read_protection(tmp_path) -> None:
    with client(tmp_path, api_keys="a,b", api_read_requires_key=True) as c:
        assert c.get("/v1/stats").status_code == 401
        assert c.get("/v1/stats", headers={"X-API-Key": "c"}).status_code == 403
        assert c.get("/v1/stats", headers={"X-API-Key": "b"}).status_code == 200
        assert c.get("/healthz").status_code == 200
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws/metrics") as ws:
            ws.receive_text()
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws/metrics?api_key=a") as ws:
            ws.receive_text()  # never in the URL: URLs end up in access logs
        with c.websocket_connect("/ws/metrics", subprotocols=key_protocols("a")) as ws:
            assert ws.accepted_subprotocol == "fraudguard"  # the key itself is never echoed
            assert "windows" in json.loads(ws.receive_text())
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws/metrics", subprotocols=key_protocols("z")):
            pass
    with client(tmp_path, api_keys="a") as c:
        assert c.get("/v1/stats").status_code == 200  # reads open by default


def test_corrupt_key_file_is_a_config_error(tmp_path) -> None:
    key_file(tmp_path).write_text("{not json")
    with pytest.raises(ConfigError, match=r"api_keys\.json"):
        KeyRing.from_settings([], tmp_path)


def test_keyring_checks_every_key() -> None:
    ring = KeyRing(["one", "two"])
    assert ring.accepts("two") and not ring.accepts("tw") and not ring.accepts("")
