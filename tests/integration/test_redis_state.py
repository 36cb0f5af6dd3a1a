"""The Redis state store against a real Redis (Debian's redis-server, started by the fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from fraudguard.errors import StateStoreError
from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore, StateStore
from tests.unit.features.helpers import random_stream

pytestmark = pytest.mark.integration
redis = pytest.importorskip("redis", reason="the redis extra is not installed (pip install fraudguard[redis])")
from fraudguard.io.redis_state import CARD_PREFIX, MERCHANT_PREFIX, RedisStateStore, feature_stores  # noqa: E402


def test_store_round_trip_ttl_and_accounting(redis_url: str, redis_prefix: str) -> None:
    store = RedisStateStore(redis_url, prefix=redis_prefix + "card:", ttl_s=120)
    assert isinstance(store, StateStore)
    other = RedisStateStore(redis_url, prefix=redis_prefix + "merchant:", ttl_s=120)
    other.put_many({"m": b"1"})  # another prefix's key does not make this store non-empty
    assert store.is_empty() and not other.is_empty()
    values = {"a": b"\x00\x01binary\xff", "b": b"x" * 1000, "c:with:colons": b"z"}
    store.put_many(values)
    assert store.get_many(["b", "missing", "a", "c:with:colons"]) == [
        values["b"],
        None,
        values["a"],
        values["c:with:colons"],
    ]
    assert len(store) == 3 and not store.is_empty()
    assert store.nbytes() == sum(map(len, values.values()))
    ttl = redis.Redis.from_url(redis_url).ttl(redis_prefix + "card:a")
    assert 0 < ttl <= 120
    store.delete(["a", "missing"])
    assert store.get_many(["a"]) == [None] and len(store) == 2
    assert store.clear() == 2 and len(store) == 0 and store.is_empty()
    other.clear()
    store.close()
    other.close()


def test_pipeline_on_redis_gives_the_in_memory_features(redis_url: str, redis_prefix: str) -> None:
    cfg = FeatureConfig(allowed_lateness_s=600, label_delay_s=3 * 3600)
    stream = random_stream(400, seed=5)
    memory = FeaturePipeline(cfg)
    cards = RedisStateStore(redis_url, prefix=redis_prefix + "card:")
    merchants = RedisStateStore(redis_url, prefix=redis_prefix + "merchant:")
    remote = FeaturePipeline(cfg, card_store=cards, merchant_store=merchants)
    for start in range(0, len(stream), 50):
        batch = stream.iloc[start : start + 50]
        want = memory.transform(batch)
        got = remote.transform(batch)
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    # A second process (a fresh pipeline on the same keys) continues from the same state.
    extra = random_stream(40, seed=6)
    extra["event_time"] += stream["event_time"].max() - extra["event_time"].min()
    again = FeaturePipeline(
        cfg,
        card_store=RedisStateStore(redis_url, prefix=redis_prefix + "card:"),
        merchant_store=RedisStateStore(redis_url, prefix=redis_prefix + "merchant:"),
    )
    np.testing.assert_array_equal(again.transform(extra).to_numpy(), memory.transform(extra).to_numpy())
    ms, rs = memory.stats(), remote.stats()
    assert (rs["cards"], rs["merchants"], rs["card_bytes"]) == (ms["cards"], ms["merchants"], ms["card_bytes"])
    assert isinstance(memory.card_store, InMemoryStateStore)


def test_single_transactions_on_redis_equal_the_block_code_in_memory(redis_url: str, redis_prefix: str) -> None:
    """The one-transaction path (features/single.py) reads and writes Redis state like a batch."""
    from fraudguard import schema
    from fraudguard.features.single import transaction_features

    cfg = FeatureConfig(allowed_lateness_s=600, label_delay_s=3 * 3600)
    stream = random_stream(300, seed=8)
    stream["event_time"] = stream["event_time"].dt.floor("us")  # what a record carries
    records = schema.from_frame(stream)
    memory = FeaturePipeline(cfg)
    memory.single_row = False  # the block code, in process
    cards = RedisStateStore(redis_url, prefix=redis_prefix + "card:")
    merchants = RedisStateStore(redis_url, prefix=redis_prefix + "merchant:")
    remote = FeaturePipeline(cfg, card_store=cards, merchant_store=merchants)
    for i in range(len(stream)):
        want = memory.transform(stream.iloc[i : i + 1]).to_numpy()
        if i % 2:
            got = remote.transform(stream.iloc[i : i + 1]).to_numpy()
        else:
            got = transaction_features(remote, records[i])[0][None, :]
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    snapshot = memory.card_store.snapshot()  # type: ignore[attr-defined]
    assert dict(zip(snapshot, cards.get_many(list(snapshot)), strict=True)) == snapshot
    snapshot = memory.merchant_store.snapshot()  # type: ignore[attr-defined]
    assert dict(zip(snapshot, merchants.get_many(list(snapshot)), strict=True)) == snapshot
    assert len(cards) == len(memory.card_store) and len(merchants) == len(memory.merchant_store)


def test_unreachable_redis_is_a_state_store_error() -> None:
    store = RedisStateStore("redis://127.0.0.1:1/0", prefix="fgtest:none:")
    with pytest.raises(StateStoreError, match="Redis read"):
        store.get_many(["x"])
    with pytest.raises(StateStoreError, match="Redis write"):
        store.put_many({"x": b"1"})


def test_empty_prefix_is_refused() -> None:
    with pytest.raises(StateStoreError, match="prefix"):
        RedisStateStore(prefix="")


def test_feature_stores_share_the_engine_prefixes_and_keep_cards_apart_from_merchants(redis_url: str) -> None:
    card, merchant = feature_stores(redis_url)
    assert (card.prefix, merchant.prefix) == (CARD_PREFIX, MERCHANT_PREFIX)
    key = f"fgtest-{np.random.default_rng().integers(1 << 62)}"
    try:
        card.put_many({key: b"card"})
        assert card.get_many([key]) == [b"card"]
        assert merchant.get_many([key]) == [None]
    finally:
        card.delete([key])
        card.close()
        merchant.close()
