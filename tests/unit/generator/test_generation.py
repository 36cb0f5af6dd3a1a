"""The synthetic stream: reproducible, realistic, labelled, and always schema-valid."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import ConfigError
from fraudguard.generator import SCENARIOS, GeneratorConfig, TransactionGenerator, generate_frame, iter_frames
from fraudguard.generator.columns import Columns
from fraudguard.generator.population import haversine_km
from fraudguard.schema import FRAME_COLUMNS, decode_transaction

N = 60_000  # two simulated days with the default population


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_frame(N, fraud_rate=0.02, seed=7)


def _bytes(seed: int, n: int = 5_000) -> list[bytes]:
    gen = TransactionGenerator(GeneratorConfig(fraud_rate=0.05, seed=seed, customers=2_000, chunk_size=1_000))
    return [m for chunk in gen.chunks(n) for m in chunk.encode()]


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    a, b, c = _bytes(3), _bytes(3), _bytes(4)
    assert a == b
    assert a != c


def test_frame_has_the_schema_columns_sorted_by_time(frame):
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert len(frame) == N
    assert str(frame["event_time"].dtype) == "datetime64[ns, UTC]"
    assert frame["event_time"].is_monotonic_increasing
    assert frame["transaction_id"].is_unique
    assert set(frame["is_fraud"].unique()) == {0.0, 1.0}


def test_fraud_rate_is_the_requested_one_and_every_scenario_occurs(frame):
    assert frame["is_fraud"].mean() == pytest.approx(0.02, abs=0.002)
    fraud = frame[frame["is_fraud"] == 1.0]
    assert set(fraud["fraud_scenario"]) == set(SCENARIOS)
    assert frame.loc[frame["is_fraud"] == 0.0, "fraud_scenario"].isna().all()
    for name in SCENARIOS:
        assert (fraud["fraud_scenario"] == name).sum() >= 50, name


def test_each_card_times_strictly_increase(frame):
    per_card = frame.groupby("card_id", sort=False)["event_time"]
    assert per_card.apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()


def test_legit_amounts_and_daily_rhythm_are_plausible(frame):
    legit = frame[frame["is_fraud"] == 0.0]
    assert (legit["amount"] >= 1.0).all()
    assert 15 < legit["amount"].median() < 120
    assert legit["amount"].quantile(0.99) < 2_000
    hours = legit["event_time"].dt.hour.value_counts()
    assert hours.loc[[17, 18, 19]].sum() > 3 * hours.loc[[2, 3, 4]].sum()
    assert set(legit["channel"]) == {"pos", "online", "atm"}
    assert (legit["card_present"] == (legit["channel"] != "online")).all()


def test_card_testing_is_bursts_of_tiny_online_amounts(frame):
    ct = frame[frame["fraud_scenario"] == "card_testing"]
    assert (ct["amount"] < 3.0).all()
    assert (ct["channel"] == "online").all()
    burst = ct.groupby("card_id")["event_time"].agg(["count", "min", "max"])
    big = burst[burst["count"] >= 4]
    assert len(big) > 10
    assert ((big["max"] - big["min"]) < pd.Timedelta(minutes=30)).mean() > 0.9


def test_account_takeover_uses_new_devices_and_large_online_amounts(frame):
    ato = frame[frame["fraud_scenario"] == "account_takeover"]
    legit = frame[frame["is_fraud"] == 0.0]
    assert (ato["channel"] == "online").all()
    assert not ato["device_id"].isin(set(legit["device_id"].dropna())).any()
    assert ato["amount"].median() > 5 * legit["amount"].median()
    assert set(ato["merchant_category"]) <= {"electronics", "jewelry", "travel", "online_services"}


def test_impossible_travel_jumps_far_within_minutes(frame):
    it = frame[frame["fraud_scenario"] == "impossible_travel"].sort_values(["card_id", "event_time"])
    same = it["card_id"].to_numpy()[1:] == it["card_id"].to_numpy()[:-1]
    lat, lon = it["merchant_lat"].to_numpy(), it["merchant_lon"].to_numpy()
    km = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])[same]
    hours = (np.diff(it["event_time"].to_numpy()).astype("timedelta64[s]").astype(float) / 3600)[same]
    assert len(km) > 30
    assert np.median(km / hours) > 2_000  # km/h: no airliner does that
    assert it["card_present"].all()


def test_stolen_card_is_used_at_night_far_from_home(frame):
    st = frame[frame["fraud_scenario"] == "stolen_card_night"]
    assert st["card_present"].all()
    assert (st["event_time"].dt.hour < 8).mean() > 0.9
    km = haversine_km(st["customer_lat"], st["customer_lon"], st["merchant_lat"], st["merchant_lon"])
    assert (km > 200).mean() > 0.9


def test_compromised_merchant_bursts_many_cards_through_one_shop(frame):
    cm = frame[frame["fraud_scenario"] == "compromised_merchant"]
    cards_per_merchant = cm.groupby("merchant_id")["card_id"].nunique()
    assert cards_per_merchant.max() >= 8
    assert (cm["channel"] == "pos").all()


def test_every_record_decodes_against_the_schema(frame):
    for message in Columns.from_frame(frame).encode():
        decode_transaction(message)


def test_time_scale_fixes_the_simulated_span():
    # 30 s of publishing at 1,000/s and 2,880 simulated seconds per second: one whole day
    # (the scale is a daily average: quiet nights pass faster than busy evenings)
    gen = TransactionGenerator(GeneratorConfig(seed=1, tps=1_000, time_scale=2_880, customers=1_000))
    f = pd.concat([c.to_frame() for c in gen.chunks(30_000)])
    span = (f["event_time"].max() - f["event_time"].min()).total_seconds()
    assert span == pytest.approx(86_400, rel=0.01)
    assert gen.time_scale == pytest.approx(2_880)


def test_start_and_chunking_are_honoured():
    start = datetime(2025, 6, 1, 12, tzinfo=UTC)
    frames = list(
        iter_frames(2_500, fraud_rate=0.1, seed=2, customers=500, merchants=100, start=start, chunk_size=1_000)
    )
    assert [len(f) for f in frames] == [1_000, 1_000, 500]
    assert frames[0]["event_time"].min() >= pd.Timestamp(start)
    whole = pd.concat(frames, ignore_index=True)
    assert whole["event_time"].is_monotonic_increasing


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fraud_rate": 0.9}, "fraud_rate"),
        ({"customers": 3}, "customers"),
        ({"merchants": 5}, "merchants"),
        ({"time_scale": 0}, "time_scale"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TransactionGenerator(GeneratorConfig(**kwargs))


def test_zero_rows_give_an_empty_frame_with_the_columns():
    assert tuple(generate_frame(0).columns) == FRAME_COLUMNS


@pytest.mark.parametrize("rate", [0.01, 0.2])
def test_real_time_windows_keep_the_rate_and_time_order(rate):
    # time_scale 1 at 10k/s: a chunk spans 20 ms of simulated time and fraud incidents
    # (minutes long) outlast hundreds of chunks
    config = GeneratorConfig(
        fraud_rate=rate, seed=9, customers=200, merchants=50, tps=10_000, time_scale=1, chunk_size=200
    )
    f = pd.concat([c.to_frame() for c in TransactionGenerator(config).chunks(20_000)], ignore_index=True)
    assert f["event_time"].is_monotonic_increasing
    assert f["is_fraud"].mean() == pytest.approx(rate, rel=0.1)
    assert f.groupby("card_id")["event_time"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()


def test_frame_round_trips_through_the_schema_records(frame):
    from fraudguard.schema import from_frame, to_frame

    head = frame.head(300)
    pd.testing.assert_frame_equal(to_frame(from_frame(head)), head)
