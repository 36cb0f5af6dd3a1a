"""Shared test configuration: fixture plugins for the real services tests talk to."""

from __future__ import annotations

import os

from fraudguard.models import set_omp_passive

os.environ.setdefault("FRAUDGUARD_STATE_DIR", os.path.join(os.getcwd(), ".fraudguard-test"))
set_omp_passive()  # as the CLI does, before any test imports xgboost (docs/machine-notes.md)

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.postgres",
    "tests.fixtures.engine",
    "tests.fixtures.api",
    "tests.fixtures.redis",
]
