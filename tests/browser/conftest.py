"""Fixtures of the dashboard tests: the real stack, Chromium through Playwright, console capture.

Chromium is Debian's (/usr/bin/chromium); Playwright's own browsers are never installed.
Without that binary (or without the ``playwright`` package) the browser tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.stack import Stack, launch, train_tiny_model
from tests.fixtures.postgres import fresh_database

CHROMIUM = os.environ.get("FRAUDGUARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("FRAUDGUARD_ARTIFACTS", "artifacts")) / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium_executable() -> str:
    if not Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests need Debian's Chromium")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (extra dashboard-tests)")
    return CHROMIUM


@pytest.fixture(scope="module")
def dashboard_db(pg_admin_url: str) -> Iterator[str]:
    """A database of the dashboard stack's own: its engine writes nothing other tests count."""
    with fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def dashboard_stack(
    chromium_executable: str, kafka_bootstrap: str, dashboard_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Model trained, `fraudguard api` ready, `fraudguard stream` started; stopped at the end."""
    state = tmp_path_factory.mktemp("dashboard-state")
    train_tiny_model(state / "models")
    stack = launch(state, kafka_bootstrap, dashboard_db, tmp_path_factory.mktemp("dashboard-logs"))
    try:
        yield stack
    finally:  # SIGTERM: the API stops its generator, the engine flushes and commits
        for proc in reversed(stack.procs):
            proc.stop()


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class ConsoleLog:
    """Console errors and uncaught page errors seen by one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """A console error containing ``fragment`` is expected by the test (e.g. a refused request)."""
        self.allowed.append(fragment)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(a in message.text for a in self.allowed):
            self.errors.append(f"console.{message.type}: {message.text}")

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))


@pytest.fixture
def console_log() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Any, dashboard_stack: Stack, console_log: ConsoleLog) -> Iterator[Any]:
    """The dashboard at 1280x800 in a fresh context; fails the test if the console showed an error."""
    context = browser.new_context(viewport=DESKTOP, base_url=dashboard_stack.base_url)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    console_log.attach(pg)
    try:
        yield pg
        seen = list(console_log.errors)  # before closing: closing aborts requests in flight
    finally:
        context.close()
    assert seen == [], "the dashboard logged errors:\n" + "\n".join(seen)


def open_dashboard(page: Any, api_key: str | None = None) -> None:
    """Load ``/`` and, when given, save the API key through the key field like a user would."""
    page.goto("/")
    page.wait_for_function("window.fraudguard !== undefined")
    if api_key is not None:
        page.get_by_label("API key").fill(api_key)
        page.get_by_role("button", name="Save").click()
        page.get_by_text("key saved for this tab").wait_for()
