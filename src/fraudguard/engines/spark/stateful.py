"""Per-card and per-merchant features with Spark's own state operators.

Each group function hands one key's serialized state and new rows to the shared feature
code (:func:`fraudguard.features.group_features`, which runs the pipeline's public card
and merchant steps) and keeps the bytes it returns as Spark state, so the checkpoint holds exactly what the
local engine keeps in memory or Redis, and the numbers are the batch pipeline's.

Rows are processed in arrival order: offset order within a partition, partitions merged
by broker timestamp. Card features only see one partition (the producer keys by card),
so they are exact; merchant features count what has *arrived* before a row, so with
several partitions they depend on how the partitions interleave (in the local engine
too). Rejected records (null ``card_id``, ``""`` merchant key) form one group in each
operator and pass through without features or state.

Cards use ``applyInPandasWithState``, merchants ``transformWithStateInPandas`` (Spark
refuses two ``applyInPandasWithState`` in one query). Card state expires on event time:
a card is dropped when the watermark passes its last event + ``card_ttl_s`` (its windows
are empty by then). Merchant state is bounded by the feature code itself (buckets of the
longest window, newest labels) and never times out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql.streaming.stateful_processor import StatefulProcessor, StatefulProcessorHandle
from pyspark.sql.types import BinaryType, StructField, StructType

from fraudguard.engines.spark.times import utc
from fraudguard.features import INSERTED_COLUMN, FeatureConfig, card_names, group_features, merchant_names

STATE_DDL = "state binary"
ARRIVAL_ORDER = ["src_partition", "src_offset"]

GroupFn = Callable[[tuple[Any, ...], Iterator[pd.DataFrame], Any], Iterator[pd.DataFrame]]


def float_ddl(names: list[str]) -> str:
    """``name float, ...``: features are float32, as the models consume them."""
    return ", ".join(f"`{n}` float" for n in names)


def transaction_view(events: pd.DataFrame) -> pd.DataFrame:
    """Spark hands timestamps as naive UTC; the feature code requires time-zone aware ones."""
    view = events.copy(deep=False)
    view["event_time"] = utc(view["event_time"])
    return view


def _nanos(series: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch of naive UTC times, 0 for a missing one (no
    ``pd.to_datetime``: its cache check builds a Timestamp per row)."""
    ns = np.asarray(series, dtype="datetime64[ns]").view(np.int64)
    return np.where(ns == np.iinfo(np.int64).min, 0, ns)


def ordered(frames: Iterator[pd.DataFrame]) -> pd.DataFrame:
    """One key's rows in arrival order: offset order within a partition, partitions merged
    by broker timestamp (what a consumer of several partitions sees, approximately).

    Rows of different partitions with the same (running-maximum) broker timestamp are
    merged by each partition's running maximum of event time, then by partition: a
    pre-filled or busy topic stamps thousands of rows per millisecond, and taking each
    partition's share of a millisecond whole sends merchant event times back and forth
    across hour boundaries, which splits the merchant step into small blocks with a fixed
    cost each (~150 per merchant bucket of a 50,000-row batch were profiled; the step's
    time per bucket then halved, see the README's *Spark on local[2]*). Both merge keys
    never decrease within a partition, so each partition keeps its offset order.
    """
    events = pd.concat(list(frames), ignore_index=True)
    if len(events) < 2:
        return events
    parts = events["src_partition"].to_numpy()
    if (parts == parts[0]).all():  # the usual case for a card: one partition, offset order
        return events.take(np.argsort(events["src_offset"].to_numpy(), kind="stable")).reset_index(drop=True)
    events = events.sort_values(ARRIVAL_ORDER, kind="stable", ignore_index=True)
    parts = events["src_partition"].to_numpy()
    stamps, times = _nanos(events["src_timestamp"]), _nanos(events["event_time"])
    merged = pd.Series(stamps).groupby(parts).cummax().to_numpy()
    happened = pd.Series(times).groupby(parts).cummax().to_numpy()
    order = np.lexsort((events["src_offset"].to_numpy(), parts, happened, merged))
    return events.take(order).reset_index(drop=True)


def passthrough(events: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    nan = np.full(len(events), np.nan, np.float32)
    return events.assign(**{n: nan for n in names})


def card_key_step(config: FeatureConfig) -> GroupFn:
    """The ``applyInPandasWithState`` function of the card grouping (EventTimeTimeout)."""
    names = [*card_names(config), INSERTED_COLUMN]
    ttl_ms = int(config.card_state_ttl_s * 1000)  # event list or 30 days of day buckets

    def step(key: tuple[Any, ...], frames: Iterator[pd.DataFrame], state: Any) -> Iterator[pd.DataFrame]:
        if state.hasTimedOut:
            state.remove()
            return
        events = ordered(frames)
        if key[0] is None or len(events) == 0:
            yield passthrough(events, names)
            return
        previous = state.get[0] if state.exists else None
        view = transaction_view(events)
        card = str(key[0])
        feats, touched = group_features("card", config, {card: previous}, view, key=card)
        new_state = touched.get(card, previous)
        if new_state:
            state.update((new_state,))
            last_ms = int(view["event_time"].max().value // 1_000_000)
            state.setTimeoutTimestamp(max(last_ms + ttl_ms, state.getCurrentWatermarkMs() + 1))
        yield pd.concat([events, feats.reset_index(drop=True)], axis=1)

    return step


MERCHANT_KEY = "merchant_key"
"""Grouping column of the merchant operator: ``merchant_id``, or ``""`` for rejected records
(a valid merchant id is never empty)."""


class MerchantFeatures(StatefulProcessor):
    """The ``transformWithStateInPandas`` processor of the merchant grouping.

    Spark allows one ``applyInPandasWithState`` per query, so the second grouping uses
    the newer operator; its state is the same bytes the local engine keeps per merchant.
    """

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self.names = merchant_names(config)

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.state = handle.getValueState("merchant", StructType([StructField("state", BinaryType())]))

    def handleInputRows(self, key: Any, rows: Iterator[pd.DataFrame], timerValues: Any) -> Iterator[pd.DataFrame]:
        events = ordered(rows).drop(columns=[MERCHANT_KEY])
        if not key[0] or len(events) == 0:
            yield passthrough(events, self.names)
            return
        stored = self.state.get() if self.state.exists() else None
        previous = stored[0] if stored else None
        inserted = events[INSERTED_COLUMN].to_numpy() > 0.5
        merchant = str(key[0])
        view = transaction_view(events)
        feats, touched = group_features("merchant", self.config, {merchant: previous}, view, inserted, key=merchant)
        new_state = touched.get(merchant, previous)
        if new_state:
            self.state.update((new_state,))
        yield pd.concat([events, feats.reset_index(drop=True)], axis=1)

    def close(self) -> None:
        """Nothing to release."""
