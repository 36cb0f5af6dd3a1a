"""The model card's drift reference: every feature and score, shares summing to one, top features by gain."""

from __future__ import annotations

import json

import pytest

from fraudguard.metrics.drift import references_from_card
from fraudguard.models.drift_reference import build_reference


def test_reference_covers_features_and_scores(small_data, trained):
    _frame, features = small_data
    names = list(features.columns)
    ref = build_reference(features, names, trained.models, trained.stacker)
    json.dumps(ref, allow_nan=False)  # the card is strict JSON
    assert set(ref["features"]) == set(names)
    assert set(ref["scores"]) == {"score_xgboost", "score_random_forest", "score_isolation_forest", "ensemble_score"}
    assert ref["rows"] == len(features) // 5
    for var in [*ref["features"].values(), *ref["scores"].values()]:
        assert sum(var["shares"]) == pytest.approx(1.0) and len(var["shares"]) == len(var["edges"]) + 2
    assert set(ref["top_features"]) <= set(names) and "amount_zscore" in ref["top_features"][:2]
    assert ref["calendar"] == []  # the small test features have no clock-derived ones
    refs, top = references_from_card({"drift_reference": ref})
    assert len(refs) == len(names) + 4 and top == ref["top_features"]
