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


def test_warm_up_is_the_reference_rows_history_capped_at_the_longest_feature_window():
    import numpy as np

    from fraudguard.features import FeatureConfig
    from fraudguard.metrics.drift import warmup_from_card
    from fraudguard.models.drift_reference import warmup_seconds

    t = np.arange(100, dtype=np.float64) * 3600.0  # 100 hourly events; the reference is the last 20
    assert warmup_seconds(t, 20, history_s=10**9) == 80 * 3600.0  # first reference row minus first event
    assert warmup_seconds(t, 20, history_s=3600.0) == 3600.0  # no feature looks back further
    assert warmup_seconds(np.empty(0), 0, history_s=60.0) == 0.0
    cfg = FeatureConfig()
    assert cfg.history_s >= 30 * 86400 if cfg.card_history_days else cfg.history_s > 0
    assert cfg.history_s == max(cfg.card_state_ttl_s, cfg.merchant_days * 86400)
    assert warmup_from_card({"drift_reference": {"warmup_s": 123.0}}) == 123.0
    assert warmup_from_card({"drift_reference": {}}) == 0.0  # a card written before the warm-up existed
