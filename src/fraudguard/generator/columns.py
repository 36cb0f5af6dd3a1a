"""A chunk of transactions as columns, and its three outputs: frame, Arrow table, JSON.

Both the generator and the dataset replay produce :class:`Columns`, so one encoder turns
either into Kafka messages. JSON is built row by row from plain Python lists with
msgspec (no Transaction objects, no per-row datetime objects): times are formatted once
per chunk by NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa

from fraudguard.generator.population import Population
from fraudguard.generator.scenarios import CHANNEL_NAMES, LEGIT, SCENARIOS, Events
from fraudguard.schema import EXTRA_PREFIX, FRAME_COLUMNS, MERCHANT_CATEGORIES

_CATEGORY_NAMES = np.array(MERCHANT_CATEGORIES, dtype=object)
_SCENARIO_NAMES = np.array([*SCENARIOS, None], dtype=object)  # LEGIT (-1) maps to None
_FLOAT_OPTIONAL = ("customer_lat", "customer_lon", "merchant_lat", "merchant_lon")
_STRING = (
    "transaction_id",
    "card_id",
    "customer_id",
    "currency",
    "merchant_id",
    "merchant_category",
    "channel",
    "device_id",
    "fraud_scenario",
)

ARROW_SCHEMA = pa.schema(
    [
        (name, pa.timestamp("us", tz="UTC") if name == "event_time"
         else pa.float64() if name in ("amount", "is_fraud", *_FLOAT_OPTIONAL)
         else pa.bool_() if name == "card_present" else pa.string())
        for name in FRAME_COLUMNS
    ]
)  # fmt: skip
"""Parquet schema of transaction files (extras add ``x_<name>`` float64 columns)."""

_encoder = msgspec.json.Encoder()


class _Wire(msgspec.Struct):
    """The JSON layout of a Transaction with the time as ready-made ISO text.

    Positional construction from column lists and struct encoding are about twice as fast
    as building a dict per row; the field names and order are the schema's.
    """

    transaction_id: str
    card_id: str
    customer_id: str | None
    event_time: str
    amount: float
    currency: str
    merchant_id: str
    merchant_category: str
    channel: str
    card_present: bool
    customer_lat: float | None
    customer_lon: float | None
    merchant_lat: float | None
    merchant_lon: float | None
    device_id: str | None
    is_fraud: bool | None
    fraud_scenario: str | None


class _WireExtras(_Wire):
    extras: dict[str, float]


assert _Wire.__struct_fields__ == FRAME_COLUMNS


@dataclass
class Columns:
    """Transactions as parallel arrays keyed by :data:`FRAME_COLUMNS`.

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
        data: dict[str, np.ndarray] = {}
        for name in FRAME_COLUMNS:
            col = frame[name]
            if name == "event_time":
                data[name] = pd.to_datetime(col, utc=True).dt.as_unit("us").array.asi8  # type: ignore[union-attr]
            elif name in _STRING:
                data[name] = col.astype(object).where(col.notna(), None).to_numpy(dtype=object)
            elif name == "card_present":
                data[name] = col.to_numpy(dtype=bool)
            else:
                data[name] = col.to_numpy(dtype=np.float64)
        extras = {
            c[len(EXTRA_PREFIX) :]: frame[c].to_numpy(dtype=np.float64)
            for c in frame.columns
            if c.startswith(EXTRA_PREFIX)
        }
        return Columns(data, extras)

    def to_frame(self) -> pd.DataFrame:
        """A pandas transaction frame (``event_time`` as ``datetime64[ns, UTC]``)."""
        cols: dict[str, object] = dict(self.data)
        cols["event_time"] = pd.to_datetime(self.data["event_time"], unit="us", utc=True).as_unit("ns")
        for name, values in self.extras.items():
            cols[EXTRA_PREFIX + name] = values
        return pd.DataFrame(cols)

    def to_arrow(self) -> pa.Table:
        """An Arrow table with :data:`ARROW_SCHEMA` (plus extras), ready for Parquet."""
        arrays = []
        for f in ARROW_SCHEMA:
            v = self.data[f.name]
            if f.name == "event_time":
                arrays.append(pa.array(v.astype("datetime64[us]"), type=f.type))
            elif f.name in _FLOAT_OPTIONAL or f.name == "is_fraud":
                arrays.append(pa.array(v, type=f.type, from_pandas=True))  # NaN -> null
            else:
                arrays.append(pa.array(v, type=f.type))
        names = list(ARROW_SCHEMA.names)
        for name, values in self.extras.items():
            arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
            names.append(EXTRA_PREFIX + name)
        return pa.Table.from_arrays(arrays, names=names)

    def keys(self) -> list[bytes]:
        """Kafka message keys: the card id, so one card's events stay in one partition, in order."""
        return [c.encode() for c in self.data["card_id"].tolist()]

    def encode(self) -> list[bytes]:
        """One JSON document per row, decodable by :func:`fraudguard.schema.decode_transaction`."""
        d = self.data
        times = np.datetime_as_string(d["event_time"].astype("datetime64[us]"), unit="us", timezone="UTC").tolist()
        lists: list[list[Any]] = []
        for name in FRAME_COLUMNS:
            if name == "event_time":
                lists.append(times)
            elif name in _FLOAT_OPTIONAL or name == "is_fraud":
                v = d[name]
                missing = np.isnan(v)
                obj = (v == 1.0 if name == "is_fraud" else v).astype(object)
                if missing.any():
                    obj[missing] = None
                lists.append(obj.tolist())
            else:
                lists.append(d[name].tolist())
        enc = _encoder.encode
        if self.extras:
            lists.append(self._extras_dicts())
            return [enc(_WireExtras(*row)) for row in zip(*lists, strict=True)]
        return [enc(_Wire(*row)) for row in zip(*lists, strict=True)]

    def _extras_dicts(self) -> list[dict[str, float]]:
        keys = list(self.extras)
        mat = np.column_stack([self.extras[k] for k in keys])
        if np.isfinite(mat).all():
            return [dict(zip(keys, row, strict=True)) for row in mat.tolist()]
        return [
            {k: x for k, x in zip(keys, row, strict=True) if x == x and abs(x) != float("inf")} for row in mat.tolist()
        ]
