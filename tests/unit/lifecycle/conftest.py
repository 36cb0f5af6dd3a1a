"""A registry with three complete versions of the small models (champion = the first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fraudguard.models.card import build_card
from fraudguard.models.registry import save_version
from tests.unit.models.conftest import SMALL, small_data, trained  # noqa: F401  (fixtures)


@pytest.fixture
def three_versions(tmp_path, small_data, trained):  # noqa: F811
    """``(root, [champion, v2, v3])`` in a fresh registry directory."""
    _frame, features = small_data
    card = build_card(
        trained,
        features_meta={"names": list(features.columns), "stateful": []},
        source={"path": "memory", "sha256": None, "format": "test"},
        cfg=SMALL,
        seconds=0.0,
    )
    root = tmp_path / "models"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    versions = [
        save_version(
            root,
            trained.models,
            trained.stacker,
            trained.reasons,
            card,
            make_current=i == 0,
            now=t0 + timedelta(minutes=i),
        )
        for i in range(3)
    ]
    return root, versions
