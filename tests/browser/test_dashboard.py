"""The dashboard in real Chromium against the real stack (broker, PostgreSQL, engine, API).

Each test drives the page like a user (key field, buttons, dialog) and checks what it
shows against what the API says, so a page that renders but shows wrong data fails.
Every test also fails if the page logged a console error (see the ``page`` fixture).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, open_dashboard
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TPS = 20.0
FRAUD_RATE = 0.1


def eventually(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.5, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` with the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what} not reached in {timeout:.0f} s (last: {last!r})")


@pytest.fixture
def api(dashboard_stack: Stack) -> Iterator[Any]:
    with dashboard_stack.client() as client:
        yield client


@pytest.fixture
def traffic(api: Any, dashboard_stack: Stack) -> Any:
    """The generator running at TPS with FRAUD_RATE, and predictions reaching PostgreSQL."""
    r = api.post("/v1/generator", json={"running": True, "tps": TPS, "fraud_rate": FRAUD_RATE})
    assert r.status_code == 200, r.text
    eventually(lambda: dashboard_stack.check_alive() or api.get("/v1/stats").json()["database"]["total"] > 0,
               timeout=60, what="first predictions stored")  # fmt: skip
    return r.json()


def test_page_loads_without_console_errors_and_is_keyboard_usable(page: Any, dashboard_stack: Stack) -> None:
    open_dashboard(page)
    for component in ("broker", "database", "model"):
        page.locator(f'#health [data-component="{component}"][data-status="ok"]').wait_for()
    page.locator('#metrics-conn[data-state="open"]').wait_for()
    page.locator('#feed-conn[data-state="open"]').wait_for()
    # rendered from the first answers after the connections open: waited for, not read at once
    expect(page.locator("#model-version")).to_have_text(re.compile(r"^model v"))
    expect(page.locator("#kpi-total")).not_to_have_text("—")
    assert page.title() == "FraudGuard dashboard"

    # Every control has an accessible name, and keyboard focus is visible.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, a[href]')]
               .filter(e => e.offsetParent !== null)
               .filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim()))
               .map(e => e.outerHTML)"""
    )
    assert unnamed == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert style not in ("", "none"), "focused control has no visible outline"


def test_rate_control_changes_the_generator(page: Any, dashboard_stack: Stack, api: Any) -> None:
    open_dashboard(page, dashboard_stack.api_key)
    page.get_by_label("Transactions per second").fill("40")
    page.get_by_label("Fraud rate").fill("0.12")
    page.get_by_role("button", name="Apply rate").click()
    eventually(lambda: (g := api.get("/v1/generator").json())["tps"] == 40 and g["fraud_rate"] == 0.12 and g,
               what="generator rate 40 tx/s, fraud rate 0.12")  # fmt: skip
    page.get_by_role("button", name="Start").click()
    page.locator('#gen-state[data-state="running"]').wait_for()
    sent = eventually(lambda: (g := api.get("/v1/generator").json())["running"] and g["sent"] > 0 and g["sent"],
                      what="generator running and sending")  # fmt: skip
    page.get_by_label("Transactions per second").fill("60")
    page.get_by_role("button", name="Apply rate").click()
    status = eventually(lambda: (g := api.get("/v1/generator").json())["tps"] == 60 and g, what="rate 60 tx/s")
    assert status["running"] and status["fraud_rate"] == 0.12
    assert eventually(lambda: api.get("/v1/generator").json()["sent"] > sent, what="more transactions sent")


def test_drift_control_sets_drift_and_shows_a_refusal(
    page: Any, dashboard_stack: Stack, api: Any, console_log: Any
) -> None:
    console_log.allow("the server responded with a status of 422")  # the refused drift, on purpose
    open_dashboard(page, dashboard_stack.api_key)
    page.get_by_label("Drift", exact=True).fill("amount:3, category")
    page.get_by_label("Drift ramp (simulated days)").fill("0.5")
    page.get_by_role("button", name="Apply rate").click()
    eventually(lambda: (g := api.get("/v1/generator").json())["drift"] == ["amount:3", "category:0.5"]
               and g["drift_days"] == 0.5 and g, what="drift amount:3, category:0.5 over 0.5 days")  # fmt: skip
    page.get_by_text("drift amount:3, category:0.5 over 0.5 d").wait_for()
    try:
        page.get_by_label("Drift", exact=True).fill("speed:9")
        with page.expect_response(lambda r: r.url.endswith("/v1/generator") and r.request.method == "POST") as answer:
            page.get_by_role("button", name="Apply rate").click()
        assert answer.value.status == 422
        # the page renders the refusal after the response has arrived: wait for it, then
        # for the next status refresh, which must not erase it
        expect(page.locator("#gen-error")).to_contain_text("speed")
        shown = int(page.locator("#gen-state").get_attribute("data-shown") or 0)
        page.wait_for_function(f"Number(document.getElementById('gen-state').dataset.shown) > {shown}")
        expect(page.locator("#gen-error")).to_contain_text("speed")
        assert api.get("/v1/generator").json()["drift"] == ["amount:3", "category:0.5"]
    finally:
        assert api.post("/v1/generator", json={"drift": []}).json()["drift"] == []


def test_wrong_key_is_refused_and_said_so(page: Any, api: Any, console_log: Any) -> None:
    # The browser itself logs the refused request; that one error is expected, nothing else.
    console_log.allow("the server responded with a status of 403")
    before = api.get("/v1/generator").json()
    open_dashboard(page, "not-a-valid-key")
    page.get_by_label("Transactions per second").fill("7")
    with page.expect_response(lambda r: r.url.endswith("/v1/generator") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Apply rate").click()
    assert answer.value.status == 403
    expect(page.locator("#gen-error")).to_contain_text("API key refused")  # rendered after the response
    assert api.get("/v1/generator").json()["tps"] == before["tps"]


def test_feed_updates_while_the_generator_runs(page: Any, traffic: Any, api: Any) -> None:
    open_dashboard(page)
    rows = page.locator("#feed-body tr")
    eventually(lambda: rows.count() >= 5, what="5 feed rows")
    first = rows.first.get_attribute("data-tx")
    eventually(lambda: rows.first.get_attribute("data-tx") != first and rows.count() > 5, what="newer rows on top")
    assert rows.count() <= 200
    headers = page.locator("#feed-head th").all_inner_texts()
    assert {"XGB", "RF", "IForest", "Ensemble"} <= set(headers)

    # A row shows what the engine stored for that transaction.
    tx = rows.nth(2).get_attribute("data-tx")
    row = page.locator(f'#feed-body tr[data-tx="{tx}"]')  # rows.nth(2) moves as rows arrive
    stored = eventually(lambda: (r := api.get(f"/v1/transactions/{tx}")).status_code == 200 and r.json(),
                        what=f"transaction {tx} stored")  # fmt: skip
    cells = dict(zip(headers, row.locator("td").all_inner_texts(), strict=True))
    assert cells["Ensemble"] == f"{stored['ensemble_score']:.3f}"
    assert cells["XGB"] == f"{stored['scores']['xgboost']:.3f}"
    assert cells["Decision"] == stored["decision"]
    assert cells["Card"] == stored["card_id"]


def wait_for_alerts(page: Any, n: int = 1) -> Any:
    items = page.locator("#alert-list .alert-item")

    def some() -> bool:
        if items.count() < n:
            page.get_by_role("button", name="Refresh alerts").click()
        return items.count() >= n

    eventually(some, timeout=45, every=1.5, what=f"{n} alert(s) listed")
    return items


def test_alert_shows_its_reasons_and_card_risk(page: Any, traffic: Any, api: Any) -> None:
    open_dashboard(page)
    tx = wait_for_alerts(page).first.get_attribute("data-tx")
    item = page.locator(f'#alert-list .alert-item[data-tx="{tx}"]')  # .first moves as alerts arrive
    stored = api.get(f"/v1/transactions/{tx}").json()
    assert stored["decision"] == "fraud" and stored["reasons"], stored
    item.click()
    dialog = page.locator("#alert-dialog")
    dialog.wait_for(state="visible")
    assert page.locator("#alert-reasons li").all_inner_texts() == stored["reasons"]
    assert page.locator("#label-fraud").evaluate("e => e === document.activeElement")
    facts = page.locator("#card-facts")
    page.locator("#card-facts dt", has_text="transactions 1h").wait_for()
    risk = api.get(f"/v1/cards/{stored['card_id']}/risk").json()
    assert risk["risk_level"] in facts.inner_text()
    assert page.locator("#card-history tr").count() == len(risk["recent_alerts"])
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert item.evaluate("e => e === document.activeElement"), "focus did not return to the alert"


def quiet(api: Any) -> dict[str, Any]:
    """Stop-the-world: wait until PostgreSQL and the live metrics stop changing."""
    previous: list[Any] = [None]

    def settled() -> Any:
        stats = api.get("/v1/stats").json()
        key = (stats["database"]["total"], stats["live"]["windows"]["cumulative"]["transactions"])
        same = key == previous[0] and key[0] == key[1]
        previous[0] = key
        return same and stats

    return eventually(settled, timeout=40, every=1.5, what="stats stable after stopping the generator")


def ensemble_cells(page: Any, scope: str) -> dict[str, int]:
    cells = page.locator(f"{scope} [data-cell]")
    return {c.get_attribute("data-cell"): int(c.inner_text().replace(",", "")) for c in cells.all()}


def test_confirming_an_alert_changes_the_metrics(page: Any, traffic: Any, api: Any, dashboard_stack: Stack) -> None:
    open_dashboard(page, dashboard_stack.api_key)
    wait_for_alerts(page)
    page.get_by_role("button", name="Stop").click()
    page.locator('#gen-state[data-state="stopped"]').wait_for()
    quiet(api)

    # An alert whose truth is "legit" gets confirmed as fraud (a false positive turns into a
    # true positive); if every listed alert is a real fraud, one is marked legitimate instead.
    alerts = api.get("/v1/alerts", params={"limit": 50}).json()["items"]
    truth = {a["transaction_id"]: a["label"] if a["label"] is not None else a["is_fraud"] for a in alerts}
    tx = next((t for t, v in truth.items() if v is False), None)
    confirm = tx is not None
    tx = tx or next(t for t, v in truth.items() if v is True)
    page.get_by_role("button", name="Refresh alerts").click()
    page.get_by_role("button", name="Cumulative").click()
    page.get_by_role("button", name="Refresh analytics").click()
    comparison = '#compare-body tr[data-model="ensemble"]'
    live = '#confusions [data-model="ensemble"]'
    page.locator(comparison).wait_for()
    page.locator(live).wait_for()
    before_db, before_live = ensemble_cells(page, comparison), ensemble_cells(page, live)

    page.locator(f'#alert-list .alert-item[data-tx="{tx}"]').click()
    page.get_by_role("button", name="Confirm fraud" if confirm else "Mark legitimate").click()
    page.get_by_text(f"Saved: {'fraud' if confirm else 'legit'}").wait_for()
    page.keyboard.press("Escape")

    moved = {"tp": 1, "fp": -1, "tn": 0, "fn": 0} if confirm else {"tp": -1, "fp": 1, "tn": 0, "fn": 0}
    expected_db = {k: before_db[k] + d for k, d in moved.items()}
    expected_live = {k: before_live[k] + d for k, d in moved.items()}
    eventually(lambda: ensemble_cells(page, comparison) == expected_db, timeout=15, what=f"comparison {expected_db}")
    eventually(lambda: ensemble_cells(page, live) == expected_live, timeout=20, what=f"live matrix {expected_live}")
    label = page.locator(f'#alert-list .alert-item[data-tx="{tx}"]').get_attribute("data-label")
    assert label == ("fraud" if confirm else "legit")
    assert api.get(f"/v1/transactions/{tx}").json()["label"] is confirm


def test_screenshots_desktop_and_phone(page: Any, browser: Any, traffic: Any, dashboard_stack: Stack) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    open_dashboard(page)
    eventually(lambda: page.locator("#feed-body tr").count() >= 10, what="10 feed rows")
    tx = wait_for_alerts(page).first.get_attribute("data-tx")
    page.wait_for_timeout(2000)  # a few metric points on the charts
    page.screenshot(path=SCREENSHOTS / "dashboard-1280x800.png")
    page.screenshot(path=SCREENSHOTS / "dashboard-1280x800-full.png", full_page=True)
    page.locator(f'#alert-list .alert-item[data-tx="{tx}"]').click()  # .first moves as alerts arrive
    page.locator("#card-facts dt", has_text="transactions 1h").wait_for()
    page.screenshot(path=SCREENSHOTS / "alert-detail-1280x800.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]

    phone = browser.new_context(viewport=PHONE, base_url=dashboard_stack.base_url, is_mobile=True, has_touch=True)
    try:
        p = phone.new_page()
        errors: list[str] = []
        p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        p.on("pageerror", lambda e: errors.append(str(e)))
        open_dashboard(p)
        eventually(lambda: p.locator("#feed-body tr").count() >= 3, what="feed rows on the phone")
        p.wait_for_timeout(1500)
        assert p.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "page scrolls sideways"
        p.screenshot(path=SCREENSHOTS / "dashboard-390x844.png")
        p.screenshot(path=SCREENSHOTS / "dashboard-390x844-full.png", full_page=True)
        assert errors == []
    finally:
        phone.close()
