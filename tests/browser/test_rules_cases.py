"""Rules editor and case queue in real Chromium against the real stack (API + engine + broker + PostgreSQL).

A rule is written, backtested on the engine's Parquet history, activated, and its hits
appear in the live feed (the engine reloaded it at a batch boundary). Three cases are
triaged with the keyboard alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import open_dashboard
from tests.browser.stack import Stack
from tests.browser.test_dashboard import eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def api(dashboard_stack: Stack) -> Iterator[Any]:
    with dashboard_stack.client() as client:
        yield client


@pytest.fixture
def traffic(api: Any, dashboard_stack: Stack) -> Iterator[None]:
    r = api.post("/v1/generator", json={"running": True, "tps": 20.0, "fraud_rate": 0.1})
    assert r.status_code == 200, r.text
    eventually(lambda: dashboard_stack.check_alive() or api.get("/v1/stats").json()["database"]["total"] > 0,
               timeout=60, what="first predictions stored")  # fmt: skip
    yield
    api.post("/v1/generator", json={"running": False})


def test_create_backtest_activate_rule_and_see_hits_in_the_feed(
    page: Any, dashboard_stack: Stack, api: Any, traffic: None
) -> None:
    open_dashboard(page, dashboard_stack.api_key)
    name = f"big-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Condition", exact=True).fill("amount > 30 and merchant_category != 'nothing'")
    page.get_by_label("Action", exact=True).select_option("review")
    page.get_by_label("Backtest over", exact=True).select_option("3650d")  # the generator's clock starts in the past
    activate = page.get_by_role("button", name="Activate", exact=True)
    assert activate.is_disabled()  # never active before a backtest

    def backtested() -> bool:
        page.get_by_label("Name", exact=True).press("Enter")  # submits the form: the backtest
        page.wait_for_function("document.getElementById('backtest-summary').textContent !== 'running…'")
        return int(page.locator("#backtest-summary").get_attribute("data-hits") or 0) > 0

    eventually(backtested, timeout=90, every=2, what="backtest hits on the engine's Parquet history")
    assert page.locator("#backtest-body tr").count() >= 1
    activate.focus()
    page.keyboard.press("Enter")
    page.locator("#rule-status[data-rule]").wait_for()
    rid = page.locator("#rule-status").get_attribute("data-rule")
    assert page.locator("#rule-status").inner_text() == f"#{rid} active"
    page.locator(f'#rule-list li[data-rule="{rid}"][data-state="active"]').wait_for()
    page.locator(f'#feed-body tr[data-rules^="{rid}"]').first.wait_for(timeout=60_000)
    assert f"rule #{rid}" in page.locator(f'#feed-body tr[data-rules^="{rid}"]').first.inner_text()
    history = api.get(f"/v1/rules/{rid}/history").json()
    assert [v["state"] for v in history["versions"]] == ["active"]
    api.put(f"/v1/rules/{rid}", json={"state": "draft"})


def test_triage_three_cases_by_keyboard(page: Any, dashboard_stack: Stack, api: Any, traffic: None) -> None:
    r = api.post(
        "/v1/rules",
        json={
            "name": f"all-{uuid.uuid4().hex[:6]}",
            "condition": "amount >= 0",
            "action": "review",
            "priority": 1,
            "state": "active",
        },
    )
    assert r.status_code == 201, r.text
    try:
        eventually(lambda: len(api.get("/v1/cases", params={"status": "open"}).json()["items"]) >= 3, timeout=60,
                   what="three open cases")  # fmt: skip
        api.put(f"/v1/rules/{r.json()['id']}", json={"state": "draft"})
        open_dashboard(page, dashboard_stack.api_key)
        queue = page.locator("#case-list")
        queue.locator("li.selected").wait_for()
        queue.focus()
        done: list[tuple[str, str]] = []
        for i, (key, outcome) in enumerate([("c", "confirmed_fraud"), ("l", "legitimate"), ("c", "confirmed_fraud")]):
            if i == 2:  # a note first, by keyboard: n focuses the field, Enter saves and returns to the queue
                page.keyboard.press("n")
                page.keyboard.type("checked with the cardholder")
                page.keyboard.press("Enter")
                page.wait_for_function("document.activeElement.id === 'case-list'")
            case_id = queue.locator("li.selected").get_attribute("data-case")
            page.keyboard.press(key)
            page.locator(f'#case-triage[data-triaged="{i + 1}"]').wait_for()
            done.append((case_id, outcome))
            page.wait_for_function(f"!document.querySelector('#case-list li.selected[data-case=\"{case_id}\"]')")
        assert "3 triaged" in page.locator("#case-triage").inner_text()
        for case_id, outcome in done:
            detail = api.get(f"/v1/cases/{case_id}").json()
            assert detail["status"] == outcome
        notes = [e for e in api.get(f"/v1/cases/{done[2][0]}").json()["events"] if e["kind"] == "note"]
        assert notes and notes[0]["detail"]["text"] == "checked with the cardholder"
    finally:
        api.put(f"/v1/rules/{r.json()['id']}", json={"state": "draft"})
