"""The one-transaction path (``features/single.py``) equals the block code bit for bit.

Two pipelines read the same stream with the same schedule: one-row batches, what-ifs,
multi-row batches and late labels interleaved. The reference runs every batch through
the block code (``single_row = False``); the other takes the scalar path for one-row
batches, either from the one-row frame or from the :class:`Transaction` record. After
every step the features must be equal to the bit (float32 patterns, NaNs included), and
at the end both pipelines hold the same bytes for every card and merchant and the same
counters.
"""

from __future__ import annotations

from datetime import timedelta, timezone

import msgspec
import numpy as np
import pandas as pd
import pytest

from fraudguard import schema
from fraudguard.errors import StateStoreError, ValidationError
from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
from fraudguard.features.single import transaction_features
from tests.unit.features.helpers import T0, frame, tx

CONFIGS = {
    "small-bounds": FeatureConfig(
        allowed_lateness_s=600, label_delay_s=3 * 3600, max_card_entries=6, max_merchant_labels=5
    ),
    "default": FeatureConfig(),
    "no-labels-lagged": FeatureConfig(
        label_delay_s=None, card_history_days=(), merchant_lag_s=7200, fraud_risk_windows_s=(), card_ttl_s=86400
    ),
}


def stream(n: int, seed: int, days: float = 40.0) -> pd.DataFrame:
    """Many cards and merchants over weeks: bursts, late and very late rows, ties, odd values."""
    rng = np.random.default_rng(seed)
    secs = np.sort(rng.uniform(0, days * 86400, n))
    cards = [f"c{k}" if rng.random() < 0.9 else "hot-card" for k in rng.integers(60, size=n)]
    for i in range(1, n):
        kind = rng.random()
        if kind < 0.25:  # the previous row's card again: a burst, a late row, or the same instant
            cards[i] = cards[i - 1]
            secs[i] = secs[i - 1] + (
                rng.uniform(-280, 0) if kind < 0.12 else 0.0 if kind < 0.14 else rng.uniform(1, 90)
            )
    secs[rng.random(n) < 0.03] -= rng.uniform(3 * 3600, 9 * 86400)  # beyond every lateness
    amounts = np.round(rng.gamma(2.0, 40.0, n), 2)
    amounts[::53] = 0.0
    rows = []
    for i in range(n):
        lat = float(rng.uniform(40, 42)) if rng.random() < 0.85 else np.nan
        rows.append(
            tx(
                float(secs[i]),
                card=cards[i],
                amount=float(amounts[i]),
                merchant=f"m{rng.integers(25)}",
                merchant_category=str(rng.choice(["grocery", "fuel", "travel", "jewelry", "not-a-category"])),
                channel=str(rng.choice(["pos", "online", "atm"])),
                card_present=bool(rng.random() < 0.6),
                merchant_lat=lat,
                merchant_lon=float(rng.uniform(-75, -72)) if lat == lat else np.nan,
                customer_lat=float(rng.uniform(40, 42)) if rng.random() < 0.5 else np.nan,
                customer_lon=float(rng.uniform(-75, -72)),
                device_id=str(rng.choice(["d1", "d2", "d3", "dévice-ü"])) if rng.random() < 0.7 else None,
                is_fraud=float(rng.random() < 0.1) if rng.random() < 0.9 else np.nan,
                x_V1=float(rng.normal()),
                transaction_id=f"t{i}",
            )
        )
    df = frame(rows)
    df["event_time"] = df["event_time"].dt.floor("us")  # what a record carries
    df["customer_lon"] = df["customer_lon"].where(df["customer_lat"].notna())
    return df


def bits(f: pd.DataFrame | np.ndarray) -> np.ndarray:
    return np.asarray(f, np.float32).view(np.uint32)


def pipelines(cfg: FeatureConfig) -> tuple[FeaturePipeline, FeaturePipeline]:
    ref = FeaturePipeline(cfg, card_store=InMemoryStateStore(), merchant_store=InMemoryStateStore())
    ref.single_row = False
    one = FeaturePipeline(cfg, card_store=InMemoryStateStore(), merchant_store=InMemoryStateStore())
    return ref, one


@pytest.mark.parametrize("name", list(CONFIGS))
def test_single_rows_equal_block_code_features_and_state(name: str) -> None:
    cfg = CONFIGS[name]
    df = stream(1500, seed=11)
    records = schema.from_frame(df)
    ref, one = pipelines(cfg)
    rng = np.random.default_rng(5)
    i = steps_single = 0
    while i < len(df):
        pick = rng.random()
        if pick < 0.04:  # a batch through the block code on both sides
            part = df.iloc[i : i + int(rng.integers(2, 25))]
            np.testing.assert_array_equal(bits(one.transform(part)), bits(ref.transform(part)))
            i += len(part)
            continue
        if pick < 0.07:  # late labels, the same on both sides
            sample = df.iloc[rng.integers(0, i + 1, 3)]
            for p in (ref, one):
                p.observe_labels(sample["merchant_id"], sample["event_time"], [True, True, False], sample["event_time"])
            continue
        part = df.iloc[i : i + 1]
        update = pick > 0.15  # some what-ifs: same features, no state change
        want = ref.transform(part, update=update)
        if rng.random() < 0.5:
            got = one.transform(part, update=update)
            assert got.index.equals(part.index) and list(got.columns) == list(want.columns)
        else:
            values, names = transaction_features(one, records[i], update=update)
            assert list(names) == list(want.columns)
            got = values[None, :]
        np.testing.assert_array_equal(bits(got), bits(want), err_msg=f"row {i}")
        steps_single += 1
        i += int(update)
    assert steps_single > 900  # in all three configurations: thousands
    stats_ref, stats_one = ref.stats(), one.stats()
    assert stats_one == stats_ref
    assert stats_ref["late_events"] > 0 and stats_ref["late_dropped"] > 0 and stats_ref["labels"] > 0
    assert stats_ref["expired"] > 0 or cfg.card_ttl_s > 86400  # the short-lived config also sweeps
    assert one.card_store.snapshot() == ref.card_store.snapshot()
    assert one.merchant_store.snapshot() == ref.merchant_store.snapshot()


def test_transaction_record_reads_like_its_frame() -> None:
    """Naive and non-UTC times, missing optional fields, extras: the record and its frame agree."""
    base = schema.Transaction(
        transaction_id="t1", card_id="c1", event_time=T0.to_pydatetime(), amount=12.5, merchant_id="m1"
    )
    local = T0.to_pydatetime().astimezone(timezone(timedelta(hours=-5)))
    variants = [
        base,
        msgspec.structs.replace(base, event_time=T0.to_pydatetime().replace(tzinfo=None)),
        msgspec.structs.replace(base, event_time=local, merchant_lat=40.123456789, merchant_lon=-73.5, device_id="d"),
        msgspec.structs.replace(base, extras={"V2": 1.5, "V1": -0.25}, customer_lat=41.0, customer_lon=-74.0),
        msgspec.structs.replace(base, is_fraud=True, merchant_category="nope", channel="atm", card_present=False),
    ]
    for t in variants:
        ref = FeaturePipeline()
        ref.single_row = False
        want = ref.transform(schema.to_frame([t]))
        values, names = transaction_features(FeaturePipeline(), t)
        assert list(names) == list(want.columns)
        np.testing.assert_array_equal(bits(values[None, :]), bits(want))


def test_refusals_are_the_block_codes() -> None:
    good = frame([tx(0.0)])
    pipe = FeaturePipeline()
    with pytest.raises(ValidationError, match="amount"):
        pipe.transform(good.assign(amount=np.inf))
    with pytest.raises(ValidationError, match="card_id"):
        pipe.transform(good.assign(card_id=None))
    with pytest.raises(ValidationError, match="amount"):
        transaction_features(pipe, schema.Transaction(
            transaction_id="t", card_id="c", event_time=T0.to_pydatetime(), amount=float("nan"), merchant_id="m"
        ))  # fmt: skip
    for store, key in (("card_store", "c1"), ("merchant_store", "m1")):
        broken = FeaturePipeline()
        getattr(broken, store).put_many({key: b"\x05\x00\x00\x00garbage"})
        with pytest.raises(StateStoreError):
            broken.transform(good)
        assert len(broken.card_store) + len(broken.merchant_store) == 1  # nothing written


def test_watermark_one_event_at_a_time_keeps_its_rule() -> None:
    """The one-event shortcut (a heap) and the batch code give the documented quorum watermark."""
    from fraudguard.features.watermark import NO_TIME, QuorumWatermark

    rng = np.random.default_rng(3)
    times = rng.integers(0, 10**9, 4000)
    times[::97] += 10**12  # far-future events that must not move it alone
    wm, seen, value, i = QuorumWatermark(quorum=16), [], NO_TIME, 0
    while i < len(times):
        part = times[i : i + (1 if rng.random() < 0.8 else int(rng.integers(2, 40)))]
        seen += part.tolist()
        top = sorted(seen)[-16:]
        value = top[0] if len(seen) < 16 else max(value, top[0])
        assert wm.advance(part) == value
        i += len(part)
