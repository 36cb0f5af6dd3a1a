"""The record structs and their bounds: transactions in, predictions, alerts and labels out.

Split out of :mod:`fraudguard.schema` (which re-exports every name) so that the column
layouts in :mod:`fraudguard.frames` and the decoder in :mod:`fraudguard.decoding` can
import the structs without importing each other: this module imports no other part of
FraudGuard.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

Channel = Literal["pos", "online", "atm"]
Decision = Literal["fraud", "legit"]

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


class Prediction(msgspec.Struct, kw_only=True):
    """The decision on one transaction, with every model's score (``predictions`` topic)."""

    transaction_id: str
    card_id: str
    event_time: datetime
    amount: float
    merchant_id: str
    merchant_category: str
    scores: dict[str, float]
    """Per-model fraud score in [0, 1] keyed by model name (xgboost, random_forest, ...)."""
    ensemble_score: float
    threshold: float
    decision: Decision
    reasons: list[str]
    model_version: str
    rule_ids: list[str] = msgspec.field(default_factory=list)  # see frames.RULE_COLUMNS
    rule_action: str | None = None
    shadow_rule_ids: list[str] = msgspec.field(default_factory=list)
    is_fraud: bool | None = None
    fraud_scenario: str | None = None
    produced_at: datetime | None = None
    """Broker timestamp of the transaction message: the start of end-to-end latency."""
    scored_at: datetime | None = None


class Alert(msgspec.Struct, kw_only=True):
    """A prediction decided ``fraud``, as published on ``fraud_alerts``."""

    transaction_id: str
    card_id: str
    event_time: datetime
    amount: float
    merchant_id: str
    merchant_category: str
    ensemble_score: float
    threshold: float
    scores: dict[str, float]
    reasons: list[str]
    model_version: str
    scored_at: datetime | None = None
    rule_ids: list[str] = msgspec.field(default_factory=list)
    rule_action: str | None = None


class Label(msgspec.Struct, kw_only=True):
    """Ground truth that arrives after the decision (chargeback, analyst review)."""

    transaction_id: str
    is_fraud: bool
    source: str = "analyst"
    labelled_at: datetime | None = None


class Rejection(msgspec.Struct, kw_only=True):
    """Why a raw message could not become a :class:`Transaction` (dead-letter payload)."""

    field: str
    reason: str
