"""One auth policy (issue 11, failure 8): writes always need a key; READ_REQUIRES_KEY governs
REST, WebSockets, /metrics and /readyz alike; /healthz is open; stored keys count in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fraudguard.api.app import create_app
from fraudguard.api.auth import create_key
from fraudguard.api.security import key_protocols
from fraudguard.config import Settings
from fraudguard.errors import ConfigError


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: object) -> TestClient:
    for name in ("FRAUDGUARD_API_KEYS", "KAFKA_BOOTSTRAP_SERVERS", "FRAUDGUARD_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return TestClient(create_app(Settings(state_dir=tmp_path, **overrides)))  # type: ignore[arg-type]


def test_no_key_configured_means_a_generated_key_not_open_writes(tmp_path, monkeypatch, capfd) -> None:
    with _app(tmp_path, monkeypatch) as c:
        # before: a keyless POST /v1/generator started 50k tx/s
        assert c.post("/v1/generator", json={"running": True}).status_code == 401
        assert c.post("/v1/labels", json={"labels": [{"transaction_id": "t", "is_fraud": True}]}).status_code == 401
        key = next(w for w in capfd.readouterr().err.split() if w.startswith("fg_dev_"))  # printed once at start
        r = c.post("/v1/generator", json={"running": True}, headers={"X-API-Key": key})
        assert r.status_code not in (401, 403)  # past auth (no broker here: 503)
        assert c.get("/v1/generator").status_code != 401  # reads stay open by default


def test_read_requires_key_covers_rest_metrics_readyz_and_websockets(tmp_path, monkeypatch) -> None:
    with _app(tmp_path, monkeypatch, api_keys="k-1", api_read_requires_key=True) as c:
        for path in ("/v1/generator", "/metrics", "/readyz"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": "k-1"}).status_code in (200, 503), path
        assert c.get("/healthz").status_code == 200
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws/alerts"):
            pass
        with c.websocket_connect("/ws/metrics", subprotocols=key_protocols("k-1")) as ws:
            ws.receive_text()


def test_stored_keys_count_in_production(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("FRAUDGUARD_API_KEYS", raising=False)
    with pytest.raises(ConfigError):
        Settings(environment="production", state_dir=tmp_path)
    key = create_key(tmp_path, "ops")
    settings = Settings(environment="production", state_dir=tmp_path)  # before: refused
    with _app(tmp_path, monkeypatch, environment=settings.environment) as c:
        assert c.post("/v1/generator", json={}).status_code == 401
        assert c.post("/v1/generator", json={}, headers={"X-API-Key": key}).status_code not in (401, 403)
