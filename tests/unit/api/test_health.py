"""``/metrics`` exports the live snapshot through one registry per process (no monkeypatched state)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fraudguard.api.app import create_app
from fraudguard.api.auth import KeyRing
from fraudguard.api.services import Services
from fraudguard.config import Settings
from fraudguard.metrics.online import OnlineMetrics
from tests.unit.metrics.test_online import make_batch


def test_metrics_scrapes_read_the_snapshot_each_time(tmp_path) -> None:
    settings = Settings(state_dir=tmp_path, api_keys="k")
    services = Services(settings=settings, keys=KeyRing(["k"]), metrics=OnlineMetrics(snapshot_every=1))
    with TestClient(create_app(settings, services=services)) as c:
        first = c.get("/metrics")
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
        registry = services.prometheus_registry
        services.metrics.update(make_batch(300, seed=3))
        tp = services.metrics.latest["windows"]["cumulative"]["models"]["xgboost"]["tp"]
        assert tp > 0
        line = f'fraudguard_confusion{{cell="tp",model="xgboost",window="cumulative"}} {float(tp)}'
        assert line not in first.text
        assert line in c.get("/metrics").text  # the same registry, the new snapshot
        assert services.prometheus_registry is registry
