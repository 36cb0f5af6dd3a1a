"""The transaction record: one msgspec struct for the wire, one Arrow schema for columns.

A transaction enters as JSON (the ``transactions`` topic, the API) and is decoded into
:class:`Transaction`; the scoring core works on it as a frame or Arrow table whose columns
are :data:`TRANSACTION_SCHEMA`'s. Every column list, dtype and DDL elsewhere is derived
from these two declarations, so a field is added here and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
import pyarrow as pa

Channel = Literal["pos", "online", "atm"]

CHANNELS: tuple[str, ...] = ("pos", "online", "atm")
MERCHANT_CATEGORIES: tuple[str, ...] = (
    "grocery",
    "restaurant",
    "fuel",
    "retail",
    "electronics",
    "travel",
    "entertainment",
    "health",
    "online_services",
    "jewelry",
    "cash_withdrawal",
    "other",
)
"""Categories the generator emits and the features one-hot encode; any other is ``other``."""

MAX_AMOUNT = 1_000_000.0
"""Largest accepted amount: above this a value is a unit or parsing error, not a purchase."""
MIN_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_EVENT_TIME = datetime(2100, 1, 1, tzinfo=UTC)
MAX_EXTRAS = 256
MAX_MESSAGE_BYTES = 64 * 1024
"""A transaction is a few hundred bytes; anything over 64 KiB is refused before decoding."""

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Amount = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_AMOUNT)]


class Transaction(msgspec.Struct, kw_only=True, frozen=True):
    """One card transaction as published on the ``transactions`` topic (JSON).

    ``extras`` carries dataset-specific numeric features (ULB's V1..V28) that pass through
    the feature pipeline unchanged. ``is_fraud`` and ``fraud_scenario`` are ground truth
    when the source knows it (generator, labelled datasets) and ``None`` otherwise.
    """

    transaction_id: Id
    card_id: Id
    event_time: datetime
    amount: Amount
    merchant_id: Id
    merchant_category: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "other"
    customer_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "USD"
    channel: Channel = "pos"
    card_present: bool = True
    customer_lat: Latitude | None = None
    customer_lon: Longitude | None = None
    merchant_lat: Latitude | None = None
    merchant_lon: Longitude | None = None
    device_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    is_fraud: bool | None = None
    fraud_scenario: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    extras: dict[str, float] = msgspec.field(default_factory=dict)


class Rejection(msgspec.Struct, kw_only=True):
    """Why a raw message could not become a :class:`Transaction` (dead-letter payload)."""

    field: str
    reason: str


UTC_US = pa.timestamp("us", tz="UTC")
"""Microseconds, not pandas' nanoseconds: Spark cannot read Parquet NANOS timestamps."""

EXTRA_PREFIX = "x_"
"""Prefix of the column holding one ``Transaction.extras`` entry (``x_V1`` ...)."""

TRANSACTION_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("card_id", pa.string()),
        ("customer_id", pa.string()),
        ("event_time", UTC_US),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("merchant_id", pa.string()),
        ("merchant_category", pa.string()),
        ("channel", pa.string()),
        ("card_present", pa.bool_()),
        ("customer_lat", pa.float64()),
        ("customer_lon", pa.float64()),
        ("merchant_lat", pa.float64()),
        ("merchant_lon", pa.float64()),
        ("device_id", pa.string()),
        ("is_fraud", pa.float64()),
        ("fraud_scenario", pa.string()),
    ]
)
"""Columns of a transaction frame and of transaction Parquet files (extras add ``x_<name>``
float64 columns). Every :class:`Transaction` field but ``extras``, in column order; the
label is float64 (1.0 / 0.0 / NaN unknown) so a frame needs no object column for it, and
missing coordinates are NaN. In a pandas frame ``event_time`` is ``datetime64[ns, UTC]``."""

TRANSACTION_COLUMNS: tuple[str, ...] = tuple(TRANSACTION_SCHEMA.names)

_OPTIONAL_FIELDS = {f.name for f in msgspec.structs.fields(Transaction) if not f.required}
TRANSACTION_OPTIONAL_FLOATS: tuple[str, ...] = tuple(
    f.name for f in TRANSACTION_SCHEMA if pa.types.is_float64(f.type) and f.name in _OPTIONAL_FIELDS
)
"""Float columns of optional fields (coordinates, label): NaN in a frame is null / ``None``."""
