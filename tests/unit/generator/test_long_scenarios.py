"""Long-horizon fraud: each scenario has its label and its shape over days and weeks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import ConfigError
from fraudguard.generator import GeneratorConfig, TransactionGenerator
from fraudguard.generator.long_scenarios import bust_out, slow_card_testing
from fraudguard.generator.mix import parse_scenarios
from fraudguard.generator.population import Population, build_population, haversine_km
from fraudguard.generator.scenarios import LONG_SCENARIOS, SCENARIOS, SHORT_SCENARIOS
from fraudguard.generator.timeline import DAY_US, US

DAYS = 45
T0 = 1_767_225_600 * US  # 2026-01-01


def _frame(days: float = DAYS, **kwargs: Any) -> pd.DataFrame:
    config = GeneratorConfig(**{"fraud_rate": 0.01, "seed": 4, "customers": 1_500, "merchants": 150, **kwargs})
    gen = TransactionGenerator(config)
    n = round(days * gen.rows_per_day)
    return pd.concat([c.to_frame() for c in gen.chunks(n)], ignore_index=True)


@pytest.fixture(scope="module")
def pop() -> Population:
    return build_population(np.random.default_rng(0), 2_000, 300)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


def _days(delta: pd.Series | pd.Timedelta) -> pd.Series | float:
    return delta / pd.Timedelta(days=1)


def test_days_of_history_and_a_realistic_fraud_rate_with_every_scenario(frame):
    span = _days(frame["event_time"].max() - frame["event_time"].min())
    assert DAYS - 1 < span <= DAYS
    assert 0.008 < frame["is_fraud"].mean() < 0.012
    counts = frame["fraud_scenario"].value_counts()
    assert set(counts.index) == set(SCENARIOS)
    assert (counts[list(LONG_SCENARIOS)] >= 50).all(), counts
    assert frame.loc[frame["is_fraud"] == 0.0, "fraud_scenario"].isna().all()
    assert frame["event_time"].is_monotonic_increasing


def test_breached_merchant_is_mostly_fraud_for_weeks(frame):
    br = frame[frame["fraud_scenario"] == "merchant_breach_weeks"]
    span = br.groupby("merchant_id")["event_time"].agg(lambda s: _days(s.max() - s.min()))
    assert span.max() >= 7
    # on the days a merchant is breached, most of its purchases are fraud, from many cards
    day = frame["event_time"].dt.floor("D")
    hit = set(zip(br["merchant_id"], br["event_time"].dt.floor("D"), strict=True))
    at = frame[[k in hit for k in zip(frame["merchant_id"], day, strict=True)]]
    assert (at["fraud_scenario"] == "merchant_breach_weeks").mean() > 0.6
    assert br.groupby("merchant_id")["card_id"].nunique().max() > 5


def test_inflated_card_pays_several_times_its_earlier_median_for_weeks(frame):
    inf = frame[frame["fraud_scenario"] == "inflated_amounts"]
    ratios, spans = [], []
    for card, rows in inf.groupby("card_id"):
        first = rows["event_time"].min()
        before = frame[(frame["card_id"] == card) & (frame["event_time"] < first) & (frame["is_fraud"] == 0.0)]
        spans.append(_days(rows["event_time"].max() - first))
        if len(before) >= 10 and len(rows) >= 3:
            ratios.append(rows["amount"].median() / before["amount"].median())
    assert len(ratios) >= 3
    assert np.median(ratios) > 2.5
    assert max(spans) >= 7
    # a share, not all, of the card's purchases in its window
    card = inf["card_id"].value_counts().index[0]
    rows = inf[inf["card_id"] == card]
    window = frame[
        (frame["card_id"] == card) & frame["event_time"].between(rows["event_time"].min(), rows["event_time"].max())
    ]
    assert 0.1 < (window["fraud_scenario"] == "inflated_amounts").mean() < 0.95


def test_slow_card_testing_is_small_amounts_over_days_at_varied_merchants(frame, pop):
    st = frame[frame["fraud_scenario"] == "slow_card_testing"]
    assert (st["amount"] < 5.0).all()
    assert (st["channel"] == "online").all()
    ev = slow_card_testing(pop, np.random.default_rng(2), 600, T0, T0 + DAY_US)
    spans, distinct, per_day = [], [], []
    for card in np.unique(ev.card):
        at = ev.card == card
        if at.sum() < 4:
            continue
        t = np.sort(ev.time_us[at])
        spans.append((t[-1] - t[0]) / DAY_US)
        distinct.append(len(np.unique(ev.merchant[at])) / at.sum())
        per_day.append(at.sum() / max(spans[-1], 1.0))
    assert len(spans) >= 30
    assert np.median(spans) > 1.5 and np.mean(np.array(spans) > 1.0) > 0.7  # over days
    assert np.mean(distinct) > 0.8  # a different merchant almost every time
    assert np.median(per_day) < 4  # a few a day
    assert (ev.amount < 5.0).all()


def test_mimicry_shops_at_the_owners_kind_of_merchants_for_more(frame):
    mm = frame[frame["fraud_scenario"] == "merchant_mimicry"]
    legit = frame[frame["is_fraud"] == 0.0]

    def near_home(rows: pd.DataFrame) -> float:
        pos = rows[rows["channel"] == "pos"]
        km = haversine_km(pos["customer_lat"], pos["customer_lon"], pos["merchant_lat"], pos["merchant_lon"])
        return float((km < 100).mean())

    # in person where the owner shops in person (as often at home as the owner is)
    assert near_home(mm) > near_home(legit) - 0.15
    assert near_home(frame[frame["fraud_scenario"] == "stolen_card_night"]) < 0.1
    online = mm[mm["channel"] == "online"]
    assert len(online) > 10
    # the owner's own devices (dev-<customer number>-k)
    assert (online["device_id"].str[4:11] == online["customer_id"].str[5:12]).all()
    usual = legit.groupby("card_id")["amount"].median()
    ratio = mm["amount"] / mm["card_id"].map(usual)
    assert ratio.median() > 2.0


def test_bust_out_builds_up_over_weeks_then_maxes_out(pop):
    ev = bust_out(pop, np.random.default_rng(1), 400, T0, T0 + DAY_US)
    assert (ev.scenario == SCENARIOS.index("bust_out")).all()
    for card in np.unique(ev.card):
        at = ev.card == card
        order = np.argsort(ev.time_us[at])
        t, amount = ev.time_us[at][order], ev.amount[at][order]
        if len(t) < 12:  # the incident cut short to fit the requested rows
            continue
        assert (t[-1] - t[0]) / DAY_US > 20  # weeks
        quarter = len(t) // 4
        assert np.median(amount[-quarter:]) > 3 * np.median(amount[:quarter])  # maxes out
        gaps = np.diff(t)
        build = gaps[: len(gaps) * 2 // 3]
        assert np.median(build[: len(build) // 2]) > np.median(build[len(build) // 2 :])  # ever more often
        assert (t[-1] - t[-quarter]) / DAY_US < 2  # the max-out is quick


def test_bust_out_is_labelled_in_the_stream(frame):
    bo = frame[frame["fraud_scenario"] == "bust_out"]
    span = bo.groupby("card_id")["event_time"].agg(lambda s: _days(s.max() - s.min()))
    assert span.max() > 14


def test_the_long_mix_alone_and_a_list_of_names():
    long = _frame(days=20, seed=5, scenarios="long")
    assert set(long["fraud_scenario"].dropna()) == set(LONG_SCENARIOS)
    assert 0.004 < long["is_fraud"].mean() < 0.02
    two = _frame(days=10, seed=5, scenarios="slow_card_testing, bust_out")
    assert set(two["fraud_scenario"].dropna()) == {"slow_card_testing", "bust_out"}
    short = _frame(days=3, seed=5, scenarios="short", fraud_rate=0.02)
    assert set(short["fraud_scenario"].dropna()) == set(SHORT_SCENARIOS)
    assert short["is_fraud"].mean() == pytest.approx(0.02, abs=0.002)


def test_scenario_selection_parses_groups_and_refuses_unknown_names():
    assert parse_scenarios("all") == SCENARIOS
    assert parse_scenarios("bust_out,short") == (*SHORT_SCENARIOS, "bust_out")
    with pytest.raises(ConfigError, match="unknown fraud scenario 'bustout'"):
        GeneratorConfig(scenarios="bustout")
    with pytest.raises(ConfigError, match="scenarios"):
        GeneratorConfig(scenarios=" , ")


def test_same_seed_same_long_history():
    a = _frame(days=8, seed=6, scenarios="long")
    b = _frame(days=8, seed=6, scenarios="long")
    pd.testing.assert_frame_equal(a, b)
    assert not a["amount"].equals(_frame(days=8, seed=7, scenarios="long")["amount"])
