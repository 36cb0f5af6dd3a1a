"""Per-merchant features: completed-hour windows and the known-fraud share under label delay."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudguard.errors import ValidationError
from fraudguard.features import FeatureConfig, FeaturePipeline
from tests.unit.features.helpers import T0, frame, tx

MIN = 60


def _rows() -> list[dict[str, object]]:
    return [
        tx(5 * MIN, card="a", amount=10, is_fraud=1.0),  # 10:05, fraud, label known 11:05
        tx(50 * MIN, card="b", amount=20, is_fraud=0.0),  # 10:50
        tx(70 * MIN, card="c", amount=40),  # 11:10
        tx(121 * MIN, card="d", amount=80),  # 12:01
        tx(121 * MIN, card="e", amount=1, merchant="m2", is_fraud=1.0),
    ]


def test_counts_cover_completed_hours_only() -> None:
    f = FeaturePipeline(FeatureConfig(label_delay_s=3600)).transform(frame(_rows()))
    assert f["merchant_count_1h"].tolist() == [0, 0, 2, 1, 0]
    assert f["merchant_amount_1h"].tolist() == [0, 0, 30, 40, 0]
    # 1 day = completed days before today + today's completed hours.
    assert f["merchant_count_1d"].tolist() == [0, 0, 2, 3, 0]
    assert f["merchant_amount_1d"].tolist() == [0, 0, 30, 70, 0]


def test_fraud_share_counts_only_labels_known_before_the_transaction() -> None:
    f = FeaturePipeline(FeatureConfig(label_delay_s=3600)).transform(frame(_rows()))
    share = f["merchant_fraud_share_1d"].tolist()
    # At 11:10 the 10:05 fraud is not known yet (known 11:05, inside the current hour).
    assert share[2] == 0.0
    assert share[3] == pytest.approx(1 / 3)
    assert f["merchant_fraud_share_28d"].iloc[3] == pytest.approx(1 / 3)
    assert share[4] == 0.0  # m2's own fraud is the transaction itself


def test_label_delay_none_ignores_stream_ground_truth() -> None:
    f = FeaturePipeline(FeatureConfig(label_delay_s=None)).transform(frame(_rows()))
    assert f["merchant_fraud_share_1d"].tolist() == [0, 0, 0, 0, 0]


def test_observe_labels_counts_from_their_known_time() -> None:
    pipe = FeaturePipeline(FeatureConfig(label_delay_s=None))
    rows = _rows()
    pipe.transform(frame(rows[:2]))
    stored = pipe.observe_labels(
        ["m1", "m1"],
        [T0 + pd.Timedelta(minutes=50), T0 + pd.Timedelta(minutes=5)],
        [True, False],
        known_at=T0 + pd.Timedelta(minutes=55),
    )
    assert stored == 1  # legitimate labels change no share and are not stored
    f = pipe.transform(frame(rows[2:4]))
    assert f["merchant_fraud_share_1d"].tolist() == [pytest.approx(1 / 2), pytest.approx(1 / 3)]


def test_observe_labels_known_later_are_not_counted_yet() -> None:
    pipe = FeaturePipeline(FeatureConfig(label_delay_s=None))
    rows = _rows()
    pipe.transform(frame(rows[:2]))
    pipe.observe_labels(["m1"], [T0 + pd.Timedelta(minutes=5)], [True], known_at=T0 + pd.Timedelta(hours=5))
    f = pipe.transform(frame(rows[2:4]))
    assert f["merchant_fraud_share_1d"].tolist() == [0, 0]
    assert pipe.stats()["labels"] == 1


def test_observe_labels_rejects_bad_input() -> None:
    pipe = FeaturePipeline()
    with pytest.raises(ValidationError, match="is_fraud"):
        pipe.observe_labels(["m1"], [T0], [True, False], known_at=T0)
    with pytest.raises(ValidationError, match="known_at"):
        pipe.observe_labels(["m1"], [T0], [True], known_at="not a time")
