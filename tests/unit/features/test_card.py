"""Per-card features against small examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline, haversine_km
from tests.unit.features.helpers import frame, tx


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(haversine_km(np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]]))[0])


@pytest.fixture
def four_events() -> tuple[list[dict[str, object]], np.ndarray]:
    rows = [
        tx(0, amount=10, merchant="m1", merchant_lat=40.0, merchant_lon=-74.0, device_id="d1"),
        tx(30, amount=20, merchant="m2", merchant_lat=40.0, merchant_lon=-73.0, device_id="d2"),
        tx(60, card="c2", amount=1000, merchant="m1", merchant_lat=10.0, merchant_lon=10.0, device_id="d1"),
        tx(
            90,
            amount=40,
            merchant="m1",
            merchant_lat=40.0,
            merchant_lon=-74.0,
            device_id="d1",
            merchant_category="fuel",
        ),
        tx(7200, amount=80, merchant="m3"),
    ]
    return rows, np.array([10.0, 20.0, 40.0])


def test_windows_exclude_the_transaction_itself_and_other_cards(four_events) -> None:
    rows, _ = four_events
    f = FeaturePipeline().transform(frame(rows))
    assert f["card_count_1m"].tolist() == [0, 1, 0, 1, 0]
    assert f["card_amount_1m"].tolist() == [0, 10, 0, 20, 0]  # window [t-60s, t): t=30 in, own amount out
    assert f["card_count_1h"].tolist() == [0, 1, 0, 2, 0]
    assert f["card_amount_1h"].tolist() == [0, 10, 0, 30, 0]
    assert f["card_count_1d"].tolist() == [0, 1, 0, 2, 3]
    assert f["card_amount_1d"].tolist() == [0, 10, 0, 30, 70]


def test_previous_transaction_time_distance_and_speed(four_events) -> None:
    rows, _ = four_events
    f = FeaturePipeline().transform(frame(rows))
    secs = f["card_secs_since_prev"].to_numpy()
    assert np.isnan(secs[0]) and np.isnan(secs[2])
    assert secs[[1, 3, 4]].tolist() == [30, 60, 7110]
    km = _km((40.0, -74.0), (40.0, -73.0))
    assert f["card_km_from_prev"].iloc[1] == pytest.approx(km, rel=1e-5)
    assert f["card_km_from_prev"].iloc[3] == pytest.approx(km, rel=1e-5)
    # Speed uses max(interval, 60 s): 30 s apart counts as one minute.
    assert f["card_speed_kmh"].iloc[1] == pytest.approx(km * 60, rel=1e-5)
    assert f["card_speed_kmh"].iloc[3] == pytest.approx(km * 60, rel=1e-5)
    assert np.isnan(f["card_km_from_prev"].iloc[4])  # last merchant has no coordinates
    assert np.isnan(f["card_speed_kmh"].iloc[4])


def test_amount_zscore_uses_past_mean_and_sample_std(four_events) -> None:
    rows, past = four_events
    z = FeaturePipeline().transform(frame(rows))["card_amount_zscore"].to_numpy()
    assert np.isnan(z[[0, 1, 2]]).all()  # fewer than two past events
    assert z[3] == pytest.approx((40 - past[:2].mean()) / past[:2].std(ddof=1), rel=1e-5)
    assert z[4] == pytest.approx((80 - past.mean()) / past.std(ddof=1), rel=1e-5)


def test_zscore_std_floor() -> None:
    rows = [tx(i * 10, amount=5.0) for i in range(3)] + [tx(40, amount=8.0)]
    z = FeaturePipeline(FeatureConfig(zscore_std_floor=2.0)).transform(frame(rows))["card_amount_zscore"]
    assert z.iloc[3] == pytest.approx(1.5)  # (8 - 5) / max(0, 2)


def test_seen_before_and_distinct_merchants(four_events) -> None:
    rows, _ = four_events
    f = FeaturePipeline().transform(frame(rows))
    assert f["card_merchant_seen"].tolist() == [0, 0, 0, 1, 0]
    assert f["card_category_seen"].tolist() == [0, 1, 0, 0, 1]
    dev = f["card_device_seen"].to_numpy()
    assert dev[:4].tolist() == [0, 0, 0, 1]  # c2's d1 is not c1's history
    assert np.isnan(dev[4])  # no device on the transaction
    assert f["card_distinct_merchants_1d"].tolist() == [0, 1, 0, 2, 2]


def test_equal_event_times_follow_arrival_order() -> None:
    f = FeaturePipeline().transform(frame([tx(0, amount=5), tx(0, amount=7), tx(0, amount=11)]))
    assert f["card_amount_1m"].tolist() == [0, 5, 12]
    assert f["card_secs_since_prev"].tolist()[1:] == [0, 0]


def test_state_carries_across_batches(four_events) -> None:
    rows, _ = four_events
    pipe = FeaturePipeline()
    pipe.transform(frame(rows[:2]))
    later = pipe.transform(frame(rows[2:]))
    assert later["card_amount_1h"].tolist() == [0, 30, 0]
