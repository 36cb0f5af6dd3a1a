"""The champion / challenger comparison and the drift panel render with live data, without console errors."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fraudguard.models import lifecycle
from fraudguard.models.registry import current_version
from tests.browser.conftest import open_dashboard
from tests.browser.stack import Stack
from tests.browser.test_dashboard import eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration]
CHALLENGER = "v20990101-000000-0badcafe"


@pytest.fixture
def api(dashboard_stack: Stack) -> Iterator[Any]:
    with dashboard_stack.client() as client:
        yield client


@pytest.fixture
def shadow_traffic(api: Any, dashboard_stack: Stack) -> str:
    """A challenger (the champion with half its threshold) in shadow, and the generator running."""
    models = Path(dashboard_stack.env["FRAUDGUARD_STATE_DIR"]) / "models"
    champion = current_version(models)
    shutil.copytree(models / champion, models / CHALLENGER)
    card_path = models / CHALLENGER / "model_card.json"
    card = json.loads(card_path.read_text())
    ens = card["thresholds"]["ensemble"]
    ens[ens["used"]] = ens["value"] = ens["value"] / 2
    card_path.write_text(json.dumps(card))
    lifecycle.add_challenger(models, CHALLENGER, actor="browser-test")
    r = api.post("/v1/generator", json={"running": True, "tps": 40, "fraud_rate": 0.1})
    assert r.status_code == 200, r.text
    eventually(
        lambda: (
            dashboard_stack.check_alive()
            or any(
                p["version"] == CHALLENGER and p["labelled"] > 50 for p in api.get("/v1/models/compare").json()["pairs"]
            )
        ),
        timeout=90,
        what="challenger scores stored",
    )
    eventually(lambda: api.get("/v1/drift").json().get("windows"), timeout=60, what="drift counts")
    return champion


def test_champion_vs_challenger_and_drift_panel_render(page: Any, shadow_traffic: str, api: Any) -> None:
    champion = shadow_traffic
    open_dashboard(page)
    page.locator(f'#lifecycle-body tr[data-version="{champion}"][data-role="champion"]').wait_for()
    row = page.locator(f'#lifecycle-body tr[data-version="{CHALLENGER}"][data-role="challenger"]')
    row.wait_for()
    eventually(lambda: row.locator('[data-cell="pr_auc"]').inner_text() != "—", what="challenger PR-AUC shown")
    pair = next(p for p in api.get("/v1/models/compare").json()["pairs"] if p["version"] == CHALLENGER)
    assert 0.0 <= float(row.locator('[data-cell="pr_auc"]').inner_text()) <= 1.0
    assert pair["challenger_alerts"] >= pair["champion_alerts"]  # a lower threshold alerts at least as often
    points = page.evaluate("window.fraudguard.lifecycle.scatter.data.datasets.map(d => d.data.length)")
    assert points and points[0] > 0
    page.locator("#drift-body tr[data-name]").first.wait_for()
    status = page.locator("#drift-status")
    assert re.fullmatch(
        r"[\d,]+ tx in the last hour( \(warming up: no alert before \S+ event time\))?", status.inner_text()
    )
    # the engine started on empty state: the panel says whether alerts still wait for its warm-up
    eventually(
        lambda: ("warming up" in status.inner_text()) == api.get("/v1/drift").json()["warming_up"],
        what="warm-up shown as /v1/drift says",
    )
    drift = api.get("/v1/drift").json()
    assert page.locator("#drift-banner").is_hidden() == (not drift["alert"])
    api.post("/v1/generator", json={"running": False})
