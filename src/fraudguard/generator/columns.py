"""A chunk of transactions as column arrays, and its three outputs: frame, Arrow table, JSON.

Both the generator and the dataset replay produce :class:`Columns`, so one encoder turns
either into Kafka messages. The conversions are :mod:`fraudguard.records`' (column arrays
of :data:`~fraudguard.records.TRANSACTION_SCHEMA`); this class adds what the generator
needs around them: resolving events against the population, row selection, message keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudguard.generator.population import Population
from fraudguard.generator.scenarios import CHANNEL_NAMES, LEGIT, SCENARIOS, Events
from fraudguard.records import (
    MERCHANT_CATEGORIES,
    arrays_to_arrow,
    arrays_to_frame,
    arrays_to_json,
    transaction_arrays,
)

_CATEGORY_NAMES = np.array(MERCHANT_CATEGORIES, dtype=object)
_SCENARIO_NAMES = np.array([*SCENARIOS, None], dtype=object)  # LEGIT (-1) maps to None


@dataclass
class Columns:
    """Transactions as parallel arrays keyed by :data:`~fraudguard.records.TRANSACTION_COLUMNS`.

    ``event_time`` is int64 microseconds since the epoch (UTC); ``is_fraud`` is float64 with
    NaN for unknown; ``extras`` maps a feature name (without ``x_``) to a float64 column.
    """

    data: dict[str, np.ndarray]
    extras: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.data["event_time"])

    def take(self, idx: np.ndarray) -> Columns:
        """The rows at ``idx`` (indices or a boolean mask)."""
        return Columns({k: v[idx] for k, v in self.data.items()}, {k: v[idx] for k, v in self.extras.items()})

    @staticmethod
    def from_events(pop: Population, events: Events, seed: int, start_index: int) -> Columns:
        """Resolve generated events against the population and number them from ``start_index``."""
        n = len(events)
        owner = pop.card_owner[events.card]
        merch = events.merchant
        ids = np.array([f"tx-{seed}-{i:010d}" for i in range(start_index, start_index + n)], dtype=object)
        return Columns(
            {
                "transaction_id": ids,
                "card_id": pop.card_ids[events.card],
                "customer_id": pop.customer_ids[owner],
                "event_time": events.time_us,
                "amount": events.amount,
                "currency": np.full(n, "USD", dtype=object),
                "merchant_id": pop.merchant_ids[merch],
                "merchant_category": _CATEGORY_NAMES[pop.merchant_category[merch]],
                "channel": CHANNEL_NAMES[events.channel],
                "card_present": events.channel != 1,
                "customer_lat": pop.home_lat[owner],
                "customer_lon": pop.home_lon[owner],
                "merchant_lat": pop.merchant_lat[merch],
                "merchant_lon": pop.merchant_lon[merch],
                "device_id": events.device,
                "is_fraud": (events.scenario != LEGIT).astype(np.float64),
                "fraud_scenario": _SCENARIO_NAMES[events.scenario],
            },
            {},
        )

    @staticmethod
    def from_frame(frame: pd.DataFrame) -> Columns:
        """Columns of a transaction frame (``schema.to_frame`` shape)."""
        return Columns(*transaction_arrays(frame))

    def to_frame(self) -> pd.DataFrame:
        """A pandas transaction frame (``event_time`` as ``datetime64[ns, UTC]``)."""
        return arrays_to_frame(self.data, self.extras)

    def to_arrow(self) -> pa.Table:
        """An Arrow table with ``TRANSACTION_SCHEMA`` (plus extras), ready for Parquet."""
        return arrays_to_arrow(self.data, self.extras)

    def keys(self) -> list[bytes]:
        """Kafka message keys: the card id, so one card's events stay in one partition, in order."""
        return [c.encode() for c in self.data["card_id"].tolist()]

    def encode(self) -> list[bytes]:
        """One JSON document per row, decodable by :func:`fraudguard.schema.decode_transaction`."""
        return arrays_to_json(self.data, self.extras)
