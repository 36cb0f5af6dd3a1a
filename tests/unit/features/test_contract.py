"""What every caller relies on: shape, order, names, no side effects, tolerant input, clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import ConfigError, ValidationError
from fraudguard.features import (
    INSERTED_COLUMN,
    STATELESS_FEATURES,
    FeatureConfig,
    FeaturePipeline,
    FeatureStores,
    InMemoryStateStore,
    StateStore,
    card_names,
    card_step,
    group_features,
    merchant_names,
    merchant_step,
    prepare,
    stateful_names,
)
from tests.unit.features.helpers import frame, random_stream, tx

CFG = FeatureConfig(allowed_lateness_s=600, label_delay_s=3 * 3600)


@pytest.fixture(scope="module")
def stream() -> pd.DataFrame:
    return random_stream(240, seed=11)


def test_output_shape_names_dtype_and_index(stream) -> None:
    df = stream.set_index(pd.Index(np.arange(len(stream))[::-1] * 3))
    pipe = FeaturePipeline(CFG)
    f = pipe.transform(df)
    assert f.index.equals(df.index)
    assert list(f.columns) == pipe.feature_names(["x_V1"])
    assert (f.dtypes == np.float32).all()
    np.testing.assert_array_equal(f["x_V1"].to_numpy(), df["x_V1"].to_numpy(np.float32))


def test_name_groups_partition_the_base_features() -> None:
    names = FeaturePipeline(CFG).feature_names()
    assert names == [*STATELESS_FEATURES, *stateful_names(CFG)]
    assert set(stateful_names(CFG)) == set(card_names(CFG)) | set(merchant_names(CFG))
    assert FeaturePipeline(CFG).feature_names(["V1", "x_V2"])[-2:] == ["x_V1", "x_V2"]


def test_update_false_changes_no_state_and_matches_update_true(stream) -> None:
    cards, merchants = InMemoryStateStore(), InMemoryStateStore()
    pipe = FeaturePipeline(CFG, card_store=cards, merchant_store=merchants)
    pipe.transform(stream.iloc[:120])
    before = (cards.snapshot(), merchants.snapshot(), pipe.stats())
    what_if = pipe.transform(stream.iloc[120:], update=False)
    assert (cards.snapshot(), merchants.snapshot(), pipe.stats()) == before
    real = pipe.transform(stream.iloc[120:], update=True)
    pd.testing.assert_frame_equal(what_if, real)
    assert cards.snapshot() != before[0]


def test_input_frame_is_not_mutated(stream) -> None:
    df = stream.copy(deep=True)
    FeaturePipeline(CFG).transform(df)
    pd.testing.assert_frame_equal(df, stream)


def test_optional_columns_may_be_missing_and_unknown_columns_are_ignored() -> None:
    minimal = frame([tx(0), tx(30, amount=5)])[["card_id", "event_time", "amount", "merchant_id"]]
    minimal["note"] = ["free text", None]
    f = FeaturePipeline().transform(minimal)
    assert f["category_other"].tolist() == [1, 1]
    assert f["channel_pos"].tolist() == [1, 1]
    assert f["card_amount_1m"].tolist() == [0, 10]
    assert np.isnan(f["card_device_seen"]).all() and np.isnan(f["customer_merchant_km"]).all()
    assert "note" not in f.columns


def test_empty_frame() -> None:
    empty = frame([tx(0)]).iloc[:0]
    f = FeaturePipeline().transform(empty)
    assert len(f) == 0 and list(f.columns) == FeaturePipeline().feature_names()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.drop(columns=["card_id"]), "card_id"),
        (lambda d: d.drop(columns=["merchant_id"]), "merchant_id"),
        (lambda d: d.assign(event_time=d["event_time"].dt.tz_localize(None)), "event_time"),
        (lambda d: d.assign(event_time=["yesterday"] * len(d)), "event_time"),
        (lambda d: d.assign(amount=[1.0, np.nan]), "amount"),
        (lambda d: d.assign(amount=["1", "x"]), "amount"),
        (lambda d: d.assign(card_id=["c1", None]), "card_id"),
    ],
)
def test_bad_input_names_the_field(change, field) -> None:
    with pytest.raises(ValidationError) as e:
        FeaturePipeline().transform(change(frame([tx(0), tx(1)])))
    assert e.value.field == field


def test_bad_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="card_ttl_s"):
        FeatureConfig(card_ttl_s=60)
    with pytest.raises(ConfigError, match="whole number of days"):
        FeatureConfig(fraud_share_windows_s=(36 * 3600,))
    with pytest.raises(ValidationError, match="merchant_store"):
        store = InMemoryStateStore()
        FeaturePipeline(card_store=store, merchant_store=store)


def test_clear_empties_both_stores_of_a_pair() -> None:
    stores = FeatureStores.in_memory()
    assert isinstance(stores.card, StateStore) and stores.card is not stores.merchant
    pipe = FeaturePipeline(CFG, card_store=stores.card, merchant_store=stores.merchant)
    pipe.transform(random_stream(50, seed=2))
    cards, merchants = len(stores.card), len(stores.merchant)
    assert cards and merchants
    assert stores.clear() == cards + merchants
    assert len(stores.card) == len(stores.merchant) == 0 and stores.card.expire(float("inf")) == 0


def _per_key(kind, key, state, events, inserted=None):
    """What the Spark per-key operators do with :func:`group_features`: one key's state in, its new state out."""
    out, touched = group_features(kind, CFG, {key: state}, events, inserted, key=key)
    return out, touched.get(key, state)


def test_group_functions_reproduce_the_pipeline(stream) -> None:
    """What the Spark engine does: per micro-batch, group by card, then by merchant."""
    pipe = FeaturePipeline(CFG)
    card_state: dict[str, bytes | None] = {}
    merchant_state: dict[str, bytes | None] = {}
    for start in range(0, len(stream), 60):
        batch = stream.iloc[start : start + 60]
        expected = pipe.transform(batch)
        card_parts = []
        for card, events in batch.groupby("card_id", sort=False):
            out, card_state[card] = _per_key("card", card, card_state.get(card), events)
            card_parts.append(out)
        cards = pd.concat(card_parts).loc[batch.index]
        merchant_parts = []
        for merchant, events in batch.groupby("merchant_id", sort=False):
            ins = cards.loc[events.index, INSERTED_COLUMN].to_numpy()
            out, merchant_state[merchant] = _per_key("merchant", merchant, merchant_state.get(merchant), events, ins)
            merchant_parts.append(out)
        merchants = pd.concat(merchant_parts).loc[batch.index]
        got = pd.concat([cards[card_names(CFG)], merchants], axis=1)
        want = expected[card_names(CFG) + merchant_names(CFG)]
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    assert {k: v for k, v in card_state.items() if v} == {k: pipe.card_store.get_many([k])[0] for k in card_state}


def test_group_function_refuses_mixed_keys(stream) -> None:
    with pytest.raises(ValidationError, match="exactly one card_id"):
        group_features("card", CFG, {}, stream.iloc[:20], key=str(stream["card_id"].iloc[0]))


def test_steps_on_given_states_are_the_pipeline_and_leave_the_states_alone(stream) -> None:
    """card_step / merchant_step: the pipeline's numbers and new states, from states handed in."""
    pipe = FeaturePipeline(CFG)
    pipe.transform(stream.iloc[:180])
    batch = stream.iloc[180:]
    cards_before, merchants_before = pipe.card_store.snapshot(), pipe.merchant_store.snapshot()
    given_cards, given_merchants = dict(cards_before), dict(merchants_before)
    events = prepare(batch)
    cards = card_step(CFG, given_cards, events)
    merchants = merchant_step(CFG, given_merchants, events, cards.inserted)
    expected = pipe.transform(batch)
    assert given_cards == cards_before and given_merchants == merchants_before
    for name in card_names(CFG):
        np.testing.assert_array_equal(cards.features[name].astype(np.float32), expected[name].to_numpy(), err_msg=name)
    for name in merchant_names(CFG):
        np.testing.assert_array_equal(merchants.features[name].astype(np.float32), expected[name].to_numpy())
    assert set(cards.states) == set(batch["card_id"]) and set(merchants.states) == set(batch["merchant_id"])
    assert cards.states == {k: pipe.card_store.snapshot()[k] for k in cards.states}
    assert merchants.states == {k: pipe.merchant_store.snapshot()[k] for k in merchants.states}
    assert pipe.stats()["late_events"] >= cards.late > 0


def test_features_package_imports_no_service_client() -> None:
    code = (
        "import sys, fraudguard.features, fraudguard.features.groups\n"
        "bad = {'redis', 'confluent_kafka', 'pyspark', 'psycopg', 'sqlalchemy', 'fastapi', 'starlette', 'httpx', 'uvicorn'}\n"
        "print(sorted(bad & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
