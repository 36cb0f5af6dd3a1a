"""``/v1/models``: promotion needs a key, the gate answers 409 with its comparison, rollback works."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fraudguard.config import Settings
from fraudguard.models import lifecycle as lc
from fraudguard.models.registry import current_version

KEY = "lifecycle-test-key-0123"


@pytest.fixture
def client(three_versions):
    from fraudguard.api.app import create_app

    root, versions = three_versions
    settings = Settings(state_dir=root.parent, api_keys=KEY, database_url=None, kafka_bootstrap_servers=None)
    assert settings.models_dir == root
    with TestClient(create_app(settings)) as c:
        yield c, root, versions


def test_promote_needs_a_key_and_respects_the_gate(client):
    c, root, (a, b, _c) = client
    lc.add_challenger(root, b, actor="t")
    lc.write_evaluation(root, b, {"labelled": 10, "pr_auc": {a: 0.9, b: 0.5}})
    assert c.post(f"/v1/models/{b}/promote").status_code == 401
    r = c.post(f"/v1/models/{b}/promote", headers={"X-API-Key": KEY})
    assert r.status_code == 409
    assert r.json()["detail"]["gate"]["champion_pr_auc"] == 0.9
    assert current_version(root) == a
    r = c.post(f"/v1/models/{b}/promote", headers={"X-API-Key": KEY}, json={"force": True})
    assert r.status_code == 200 and r.json()["forced"] is True
    assert r.json()["actor"].startswith("api:") and KEY not in r.json()["actor"]
    assert current_version(root) == b
    models = c.get("/v1/models").json()
    assert models["champion"] == b and models["history"] == [a]
    assert models["audit"][-1]["action"] == "promote"
    r = c.post("/v1/models/rollback", headers={"X-API-Key": KEY})
    assert r.status_code == 200 and current_version(root) == a
    assert c.post("/v1/models/rollback", headers={"X-API-Key": KEY}).status_code == 409


def test_bad_and_unknown_versions(client):
    c, _root, _versions = client
    assert c.post("/v1/models/not-a-version/promote", headers={"X-API-Key": KEY}).status_code == 422
    r = c.post("/v1/models/v20990101-000000-deadbeef/promote", headers={"X-API-Key": KEY})
    assert r.status_code == 404
    r = c.post(f"/v1/models/{_versions[1]}/promote", headers={"X-API-Key": KEY}, json={"margin": 2})
    assert r.status_code == 422
