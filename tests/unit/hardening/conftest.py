"""A tiny model behind the real app (no database, no broker) for the hardening API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing
from fraudguard.api.services import Services, make_scoring
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
