"""Shared test configuration: fixture plugins for the real services tests talk to."""

from __future__ import annotations

import os

os.environ.setdefault("FRAUDGUARD_STATE_DIR", os.path.join(os.getcwd(), ".fraudguard-test"))

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.postgres",
    "tests.fixtures.engine",
    "tests.fixtures.api",
    "tests.fixtures.redis",
]
