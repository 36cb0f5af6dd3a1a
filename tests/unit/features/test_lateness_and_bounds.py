"""Late events, bounded card state, expiry and the byte accounting."""

from __future__ import annotations

import numpy as np

from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
from fraudguard.features.state import DAY_DTYPE, card_events
from fraudguard.features.watermark import DEFAULT_QUORUM
from tests.unit.features.helpers import frame, tx


def _both_ways(cfg: FeatureConfig, rows: list[dict[str, object]]) -> list[FeaturePipeline]:
    """The same rows through one batch and one by one: the tests check both."""
    whole = FeaturePipeline(cfg)
    whole.transform(frame(rows))
    single = FeaturePipeline(cfg)
    for r in rows:
        single.transform(frame([r]))
    return [whole, single]


def test_late_within_allowed_lateness_is_placed_in_event_time_order() -> None:
    cfg = FeatureConfig(allowed_lateness_s=300)
    rows = [tx(1000, amount=1), tx(2000, amount=2), tx(1900, amount=4), tx(2010, amount=8)]
    for batch in (frame(rows), None):
        pipe = FeaturePipeline(cfg)
        f = pipe.transform(batch) if batch is not None else _concat(pipe, rows)
        # The late event sees only what happened before its own time.
        assert f["card_amount_1h"].tolist() == [0, 1, 1, 7]
        # The next event sees it in its 1 h window but not in its 1 min window [1950, 2010).
        assert f["card_amount_1m"].tolist() == [0, 0, 0, 2]
        assert f["card_secs_since_prev"].tolist()[3] == 10
        assert pipe.stats()["late_events"] == 1
        assert pipe.stats()["late_dropped"] == 0


def _concat(pipe: FeaturePipeline, rows: list[dict[str, object]]):
    import pandas as pd

    return pd.concat([pipe.transform(frame([r])) for r in rows], ignore_index=True)


def test_too_late_is_scored_against_state_counted_and_not_inserted() -> None:
    cfg = FeatureConfig(allowed_lateness_s=300)
    rows = [tx(1000, amount=1), tx(2000, amount=2), tx(1500, amount=16), tx(2010, amount=8)]
    for batch in (True, False):
        pipe = FeaturePipeline(cfg)
        f = pipe.transform(frame(rows)) if batch else _concat(pipe, rows)
        assert f["card_amount_1h"].tolist() == [0, 1, 1, 3]  # 16 never enters the windows
        assert pipe.stats()["late_dropped"] == 1
        assert pipe.stats()["late_events"] == 0
        state = card_events(pipe.card_store.get_many(["c1"])[0])
        assert state["amount"].tolist() == [1, 2, 8]


def test_max_entries_caps_windows_and_bytes_per_card() -> None:
    cfg = FeatureConfig(max_card_entries=3)
    rows = [tx(i * 10, amount=2.0**i) for i in range(5)]
    for pipe in _both_ways(cfg, rows):
        stats = pipe.stats()
        assert stats["cards"] == 1
        # 16-byte header, 3 events of 41 bytes, one day bucket of 24 bytes
        assert stats["bytes_per_card"] == 16 + 3 * 41 + DAY_DTYPE.itemsize
        state = card_events(pipe.card_store.get_many(["c1"])[0])
        assert state["amount"].tolist() == [4, 8, 16]
    f = FeaturePipeline(cfg).transform(frame(rows))
    assert f["card_count_1h"].tolist() == [0, 1, 2, 3, 3]
    assert f["card_amount_1h"].tolist() == [0, 1, 3, 7, 14]  # the last 3 only


QUORUM = DEFAULT_QUORUM


def test_ttl_trims_old_events_and_expires_idle_cards() -> None:
    cfg = FeatureConfig(card_ttl_s=86400, card_history_days=())
    store = InMemoryStateStore()
    pipe = FeaturePipeline(cfg, card_store=store)
    pipe.transform(frame([tx(0, card="idle"), tx(10, card="busy")]))
    # the expiry clock needs a quorum of events to move (features/watermark.py)
    later = [tx(2 * 86400 + i, card="busy", amount=3) for i in range(QUORUM)]
    f = pipe.transform(frame(later))
    assert np.isnan(f["card_secs_since_prev"].iloc[0])  # older than the TTL: forgotten
    busy = card_events(store.get_many(["busy"])[0])
    assert busy["amount"].tolist() == [3] * QUORUM
    stats = pipe.stats()
    assert stats["cards"] == 1 and stats["expired"] >= 1
    assert store.get_many(["idle"]) == [None]


def test_in_memory_store_max_keys() -> None:
    import pytest

    from fraudguard.errors import StateStoreError

    pipe = FeaturePipeline(card_store=InMemoryStateStore(max_keys=2))
    pipe.transform(frame([tx(0, card="a"), tx(1, card="b")]))
    with pytest.raises(StateStoreError, match="full"):
        pipe.transform(frame([tx(2, card="c")]))
