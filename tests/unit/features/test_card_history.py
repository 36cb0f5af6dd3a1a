"""Long per-card windows from daily buckets: hand-computed values, window edges, bounded state, invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
from fraudguard.features.state import DAY_DTYPE, decode_cards
from tests.unit.features.helpers import frame, random_stream, tx

DAY = 86400.0
HOUR = 3600.0


def _history() -> list[dict[str, object]]:
    return [
        tx(-20 * DAY, amount=10),
        tx(-5 * DAY, amount=20),
        tx(-1 * DAY, amount=30),
        tx(0, amount=40),
        tx(HOUR, amount=100),
    ]


@pytest.mark.parametrize("one_by_one", [False, True])
def test_seven_and_thirty_day_windows_by_hand(one_by_one: bool) -> None:
    pipe = FeaturePipeline()
    rows = _history()
    f = pd.concat([pipe.transform(frame([r])) for r in rows]) if one_by_one else pipe.transform(frame(rows))
    last = f.iloc[-1]
    assert last["card_hist_count_7d"] == 3 and last["card_hist_amount_7d"] == 90
    assert last["card_hist_mean_7d"] == pytest.approx(30)
    assert last["card_hist_std_7d"] == pytest.approx(10)
    assert last["card_amount_ratio_7d"] == pytest.approx(100 / 30)
    assert last["card_hist_count_30d"] == 4 and last["card_hist_mean_30d"] == pytest.approx(25)
    std30 = np.std([10, 20, 30, 40], ddof=1)
    assert last["card_hist_std_30d"] == pytest.approx(std30, rel=1e-6)
    assert last["card_amount_z_30d"] == pytest.approx((100 - 25) / std30, rel=1e-6)
    assert last["card_age_days"] == pytest.approx(20 + 1 / 24, rel=1e-6)
    first = f.iloc[0]
    assert first["card_hist_count_30d"] == 0 and np.isnan(first["card_hist_mean_30d"])
    assert np.isnan(first["card_age_days"]) and np.isnan(first["card_amount_z_30d"])
    assert f["card_hist_count_7d"].tolist() == [0, 0, 1, 2, 3]


@pytest.mark.parametrize("one_by_one", [False, True])
def test_log_scale_deviation_by_hand(one_by_one: bool) -> None:
    pipe = FeaturePipeline()
    rows = _history()
    f = pd.concat([pipe.transform(frame([r])) for r in rows]) if one_by_one else pipe.transform(frame(rows))
    logs = np.log1p([10.0, 20.0, 30.0, 40.0])
    dev = np.log1p(100.0) - logs.mean()
    last = f.iloc[-1]
    assert last["card_log_amount_dev_30d"] == pytest.approx(dev, rel=1e-6)
    assert last["card_log_amount_z_30d"] == pytest.approx(dev / np.std(logs, ddof=1), rel=1e-6)
    # the second row has one earlier amount: a deviation, but no spread for a z-score
    assert f["card_log_amount_dev_30d"].iloc[1] == pytest.approx(np.log1p(20.0) - np.log1p(10.0), rel=1e-6)
    assert np.isnan(f["card_log_amount_z_30d"].iloc[1]) and np.isnan(f["card_log_amount_dev_30d"].iloc[0])


def test_log_z_has_a_floor_for_a_card_that_always_pays_the_same() -> None:
    rows = [tx(-k * DAY, amount=50) for k in (3, 2, 1)] + [tx(0, amount=55)]
    f = FeaturePipeline().transform(frame(rows))
    dev = np.log1p(55.0) - np.log1p(50.0)
    assert f["card_log_amount_z_30d"].iloc[-1] == pytest.approx(dev / 0.05, rel=1e-5)


def test_window_edge_is_exact_to_one_day() -> None:
    # T0 is 10:00 UTC: day -7 starts 7 days + 10 h earlier.
    start_of_day_minus_7 = -7 * DAY - 10 * HOUR
    rows = [tx(start_of_day_minus_7 - 30, amount=1), tx(start_of_day_minus_7 + 30, amount=2), tx(0, amount=5)]
    f = FeaturePipeline().transform(frame(rows))
    assert f["card_hist_count_7d"].iloc[-1] == 1  # day -8 is out, day -7 is in
    assert f["card_hist_amount_7d"].iloc[-1] == 2
    assert f["card_hist_count_30d"].iloc[-1] == 2


def test_state_stays_bounded_over_a_hundred_days() -> None:
    store = InMemoryStateStore()
    pipe = FeaturePipeline(card_store=store)
    for day in range(100):
        pipe.transform(frame([tx(day * DAY + k * HOUR, amount=10 + k) for k in range(3)]))
    st = decode_cards(store.get_many(["c1"]))
    assert st.day_counts[0] == 31  # days [D - 30, D]
    assert st.counts[0] <= 3 * 8  # the event list keeps its 7-day TTL
    stats = pipe.stats()
    assert stats["bytes_per_card"] == 16 + st.counts[0] * 41 + 31 * DAY_DTYPE.itemsize
    f = pipe.transform(frame([tx(100 * DAY, amount=1)]))
    assert f["card_hist_count_30d"].iloc[0] == 90  # days 70..99, three a day
    assert f["card_age_days"].iloc[0] == pytest.approx(100.0)


def test_a_too_late_row_sees_state_and_changes_no_bucket() -> None:
    cfg = FeatureConfig(allowed_lateness_s=300)
    store = InMemoryStateStore()
    pipe = FeaturePipeline(cfg, card_store=store)
    f = pipe.transform(frame([tx(0, amount=10), tx(2 * HOUR, amount=20), tx(HOUR, amount=999)]))
    assert f["card_hist_count_7d"].tolist() == [0, 1, 2]
    st = decode_cards(store.get_many(["c1"]))
    assert st.days["n"].tolist() == [2] and st.days["s"].tolist() == [30.0]


@pytest.fixture(scope="module")
def long_stream() -> pd.DataFrame:
    s = random_stream(400, seed=11)
    t0 = s["event_time"].min()
    return s.assign(event_time=t0 + (s["event_time"] - t0) * 15)  # ~45 days, late events up to hours late


@pytest.mark.parametrize("sizes", [[1], [7], [64], [1, 50, 3, 200]], ids=str)
def test_long_windows_do_not_depend_on_batch_size(long_stream: pd.DataFrame, sizes: list[int]) -> None:
    cfg = FeatureConfig(allowed_lateness_s=3600, max_card_entries=6)

    def run(sz: list[int]) -> tuple[pd.DataFrame, dict[str, bytes]]:
        store = InMemoryStateStore()
        pipe = FeaturePipeline(cfg, card_store=store)
        parts, i = [], 0
        while i < len(long_stream):
            n = sz[len(parts) % len(sz)]
            parts.append(pipe.transform(long_stream.iloc[i : i + n]))
            i += n
        return pd.concat(parts), store.snapshot()

    ref, ref_state = run([len(long_stream)])
    got, state = run(sizes)
    assert ref["card_hist_count_30d"].max() > 10  # the stream really fills long windows
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    assert state == ref_state


def test_known_frauds_count_only_labels_past_the_delay() -> None:
    cfg = FeatureConfig(label_delay_s=7 * DAY)
    rows = [
        tx(-40 * DAY, amount=5, is_fraud=1.0),  # older than 30 days
        tx(-20 * DAY, amount=5, is_fraud=1.0),
        tx(-9 * DAY, amount=5, is_fraud=1.0),
        tx(-9 * DAY + 60, amount=5, is_fraud=0.0),
        tx(-3 * DAY, amount=5, is_fraud=1.0),  # label not in yet
        tx(0, amount=5),
    ]
    f = FeaturePipeline(cfg).transform(frame(rows))
    assert f["card_known_frauds"].iloc[-1] == 2
    unlabelled = FeaturePipeline(FeatureConfig(label_delay_s=None)).transform(frame(rows))
    assert (unlabelled["card_known_frauds"] == 0).all()
