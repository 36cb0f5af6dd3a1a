"""The per-key Spark operators (``state_buckets=0``) give the local pipeline's numbers.

Spark's state handles are replaced by small in-memory ones with the same methods, so the
operators' own code (ordering, state bytes in and out, timeouts) runs without a session.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from fraudguard.engines.spark.stateful import MERCHANT_KEY, MerchantFeatures, card_key_step, ordered
from fraudguard.features import INSERTED_COLUMN, FeatureConfig, FeaturePipeline, card_names, merchant_names
from fraudguard.generator import generate_frame


class GroupState:
    """``GroupState`` of ``applyInPandasWithState``, as the card operator uses it."""

    hasTimedOut = False

    def __init__(self, value: bytes | None) -> None:
        self.value, self.timeout_ms = value, None

    @property
    def exists(self) -> bool:
        return self.value is not None

    @property
    def get(self) -> tuple[bytes | None]:
        return (self.value,)

    def update(self, row: tuple[bytes]) -> None:
        self.value = row[0]

    def getCurrentWatermarkMs(self) -> int:
        return 0

    def setTimeoutTimestamp(self, ms: int) -> None:
        self.timeout_ms = ms


class ValueState:
    """``ValueState`` of ``transformWithStateInPandas``."""

    def __init__(self) -> None:
        self.value: tuple[bytes] | None = None

    def exists(self) -> bool:
        return self.value is not None

    def get(self) -> tuple[bytes] | None:
        return self.value

    def update(self, row: tuple[bytes]) -> None:
        self.value = row


class Handle:
    """``StatefulProcessorHandle`` handing out one value state."""

    def __init__(self, value: ValueState) -> None:
        self.value = value

    def getValueState(self, name: str, schema: Any) -> ValueState:
        return self.value


def _with_source_columns(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    out["event_time"] = out["event_time"].dt.tz_convert(None)  # Spark hands naive UTC
    return out.assign(src_partition=0, src_offset=np.arange(len(out)), src_timestamp=out["event_time"])


def test_per_key_card_and_merchant_operators_equal_the_pipeline() -> None:
    cfg = FeatureConfig()
    stream = _with_source_columns(generate_frame(1500, fraud_rate=0.05, seed=8, customers=60, merchants=25))
    local = FeaturePipeline(cfg)
    card_fn = card_key_step(cfg)
    card_states: dict[str, GroupState] = {}
    merchant_states: dict[str, ValueState] = {}
    cards, merchants = card_names(cfg), merchant_names(cfg)
    for start in range(0, len(stream), 500):
        batch = stream.iloc[start : start + 500]
        expected = local.transform(batch.assign(event_time=batch["event_time"].dt.tz_localize("UTC")))
        carded = []
        for card, rows in batch.groupby("card_id", sort=False):
            state = card_states.setdefault(card, GroupState(None))
            carded.extend(card_fn((card,), iter([rows]), state))
            assert state.timeout_ms is not None and state.timeout_ms > 0
        with_cards = pd.concat(carded).set_index("src_offset", drop=False).loc[batch["src_offset"]]
        got: dict[str, Any] = {}
        for merchant, rows in with_cards.assign(**{MERCHANT_KEY: with_cards["merchant_id"]}).groupby(
            "merchant_id", sort=False
        ):
            op = MerchantFeatures(cfg)
            op.init(Handle(merchant_states.setdefault(merchant, ValueState())))
            for out in op.handleInputRows((merchant,), iter([rows.reset_index(drop=True)]), None):
                got.update({int(o): r for o, r in zip(out["src_offset"], out[merchants].to_numpy(), strict=True)})
        got_merchants = np.stack([got[int(o)] for o in batch["src_offset"]])
        np.testing.assert_array_equal(with_cards[cards].to_numpy(), expected[cards].to_numpy())
        np.testing.assert_array_equal(got_merchants, expected[merchants].to_numpy())
        assert (with_cards[INSERTED_COLUMN] == 1).all()
    assert {k: s.value for k, s in card_states.items()} == local.card_store.snapshot()
    assert {k: s.value[0] for k, s in merchant_states.items() if s.value} == local.merchant_store.snapshot()


def _partitioned(seed: int, n: int = 3000) -> pd.DataFrame:
    """Rows of four partitions of a pre-filled topic: event times rise within each
    partition, broker timestamps come a hundred rows to a millisecond."""
    rng = np.random.default_rng(seed)
    parts = rng.integers(0, 4, n).astype(np.int32)
    event = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 7 * 86400, n)), unit="s")
    stamps = pd.Timestamp("2026-11-29") + pd.to_timedelta(np.arange(n) // 100, unit="ms")
    offsets = pd.Series(np.ones(n, np.int64)).groupby(parts).cumsum().to_numpy() - 1
    frame = pd.DataFrame(
        {"event_time": event.values, "src_partition": parts, "src_offset": offsets, "src_timestamp": stamps.values}
    )
    frame.loc[rng.integers(0, n, 5), "src_timestamp"] = pd.NaT  # a record without a broker time
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # Spark hands groups in any order


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_arrival_order_keeps_each_partitions_offsets_and_merges_ties_by_event_time(seed: int) -> None:
    rows = _partitioned(seed)
    out = ordered(iter([rows.iloc[:1000], rows.iloc[1000:]]))
    assert sorted(map(tuple, out.to_numpy().tolist())) == sorted(map(tuple, rows.to_numpy().tolist()))
    for _, part in out.groupby("src_partition", sort=False):
        assert part["src_offset"].is_monotonic_increasing  # a consumer sees a partition in offset order
    stamps = out["src_timestamp"].fillna(pd.Timestamp(0))
    merged = stamps.groupby(out["src_partition"]).cummax()
    assert merged.is_monotonic_increasing  # partitions are merged by broker time
    # Within a millisecond, rows of different partitions follow event time (which rises
    # within each partition here), so time never goes back inside one.
    back = (out["event_time"].diff() < pd.Timedelta(0)) & (merged.diff() == pd.Timedelta(0))
    assert not back.any()
