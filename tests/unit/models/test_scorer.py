"""Scorer output frame, reason codes, policies and one-row vs batch equality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudguard import schema
from fraudguard.errors import ModelError
from fraudguard.models.scorer import Scorer


@pytest.fixture(scope="module")
def scorer(registry) -> Scorer:
    root, _ = registry
    return Scorer.load(root)


def test_prediction_frame_shape_and_types(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    out = scorer.score_frame(frame.iloc[:500], features.iloc[:500])
    assert list(out.columns) == list(schema.PREDICTION_COLUMNS)
    assert out.index.equals(frame.index[:500])
    for m in schema.MODEL_NAMES:
        assert out[f"score_{m}"].between(0, 1).all()
    assert out["ensemble_score"].between(0, 1).all()
    assert set(out["decision"]) <= {"fraud", "legit"}
    assert ((out["ensemble_score"] >= out["threshold"]) == (out["decision"] == "fraud")).all()
    assert (out["model_version"] == scorer.version).all()
    assert str(out["event_time"].dtype) == "datetime64[ns, UTC]"
    assert str(out["scored_at"].dtype) == "datetime64[ns, UTC]"
    assert out["produced_at"].isna().all()
    assert out["is_fraud"].dtype == np.float64
    assert (out["transaction_id"].to_numpy() == frame["transaction_id"].to_numpy()[:500]).all()


def test_reasons_only_for_fraud_and_readable(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    out = scorer.score_frame(frame, features)
    fraud = out[out["decision"] == "fraud"]
    legit = out[out["decision"] == "legit"]
    assert len(fraud) > 0
    assert all(r == [] for r in legit["reasons"])
    assert all(1 <= len(r) <= 3 for r in fraud["reasons"])
    codes = {c for r in fraud["reasons"] for c in r}
    # the informative features appear, with readable suffixes; 0/1 feature on -> its own name
    assert "amount_zscore_high" in codes
    assert "new_device" in codes or "velocity_1h_high" in codes
    assert all(c.endswith(("_high", "_low")) or c in ("new_device", "no_new_device") for c in codes)


def test_one_row_equals_batch(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    rows = frame.index[:300:7]
    batch = scorer.score_frame(frame.loc[rows], features.loc[rows])
    for i in rows:
        one = scorer.score_frame(frame.loc[[i]], features.loc[[i]])
        for col in ("score_xgboost", "score_random_forest", "score_isolation_forest", "ensemble_score"):
            assert one[col].iloc[0] == batch.loc[i, col]
        assert one["decision"].iloc[0] == batch.loc[i, "decision"]
        assert one["reasons"].iloc[0] == batch.loc[i, "reasons"]


def test_large_batch_uses_threads_but_same_numbers(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    big_f = pd.concat([features] * 2, ignore_index=True)
    big = pd.concat([frame] * 2, ignore_index=True)
    out = scorer.score_frame(big, big_f)
    small = scorer.score_frame(frame.iloc[:1000], features.iloc[:1000])
    np.testing.assert_array_equal(out["ensemble_score"].to_numpy()[:1000], small["ensemble_score"].to_numpy())


def test_threshold_policy_override(registry, small_data) -> None:
    root, _ = registry
    default = Scorer.load(root)
    strict = Scorer.load(root, threshold_policy="target_fpr")
    assert default.thresholds.used == "best_f1"
    assert strict.thresholds.value == default.model_thresholds["ensemble"].target_fpr
    with pytest.raises(ModelError, match="policy"):
        Scorer.load(root, threshold_policy="lucky")


def test_input_not_mutated_and_extra_columns_ignored(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    f = frame.iloc[:50].copy()
    x = features.iloc[:50].copy()
    x["unused_feature"] = 1.0
    before_f, before_x = f.copy(), x.copy()
    scorer.score_frame(f, x)
    pd.testing.assert_frame_equal(f, before_f)
    pd.testing.assert_frame_equal(x, before_x)


def test_misaligned_features_refused(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    with pytest.raises(ModelError, match="rows"):
        scorer.score_frame(frame.iloc[:10], features.iloc[:9])
