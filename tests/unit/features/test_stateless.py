"""Stateless features against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fraudguard.features import STATELESS_FEATURES, FeaturePipeline, haversine_km
from fraudguard.schema import MERCHANT_CATEGORIES
from tests.unit.features.helpers import frame, tx


def test_time_amount_and_encodings() -> None:
    # T0 is Monday 10:00 UTC; +5 days 13 h = Saturday 23:00.
    df = frame(
        [
            tx(0, amount=0.0, channel="online", card_present=False, merchant_category="travel"),
            tx(5 * 86400 + 13 * 3600, amount=99.0, channel="atm", merchant_category="no-such-category"),
        ]
    )
    f = FeaturePipeline().transform(df)
    assert f["hour_of_day"].tolist() == [10, 23]
    assert f["day_of_week"].tolist() == [0, 5]
    assert f["is_weekend"].tolist() == [0, 1]
    assert f["is_night"].tolist() == [0, 1]
    assert f["log_amount"].tolist() == pytest.approx([0.0, np.log(100.0)])
    assert f["channel_online"].tolist() == [1, 0] and f["channel_atm"].tolist() == [0, 1]
    assert f["card_present"].tolist() == [0, 1]
    assert f["category_travel"].tolist() == [1, 0]
    assert f["category_other"].tolist() == [0, 1]
    cats = f[[f"category_{c}" for c in MERCHANT_CATEGORIES]].to_numpy()
    assert (cats.sum(axis=1) == 1).all()


def test_customer_merchant_distance_and_missing_coordinates() -> None:
    # New York -> Los Angeles is about 3,936 km on the great circle.
    df = frame(
        [
            tx(0, customer_lat=40.7128, customer_lon=-74.0060, merchant_lat=34.0522, merchant_lon=-118.2437),
            tx(1, customer_lat=40.7128, customer_lon=-74.0060),
        ]
    )
    d = FeaturePipeline().transform(df)["customer_merchant_km"].to_numpy()
    assert d[0] == pytest.approx(3936, rel=0.01)
    assert np.isnan(d[1])


def test_haversine_zero_and_quarter_meridian() -> None:
    z = np.zeros(1)
    assert haversine_km(z, z, z, z)[0] == 0.0
    assert haversine_km(z, z, np.array([90.0]), z)[0] == pytest.approx(np.pi / 2 * 6371.0088)


def test_stateless_names_come_first_in_order() -> None:
    assert FeaturePipeline().feature_names()[: len(STATELESS_FEATURES)] == list(STATELESS_FEATURES)
