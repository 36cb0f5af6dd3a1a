"""Records that cross process boundaries: transactions in, predictions, alerts and labels out.

Transactions are decoded with msgspec typed structs (about 400k records/s per core) and
then checked by :func:`check_transaction` for rules the type system cannot express. Every
rejection names the field and the reason, because the dead-letter topic and the API both
report them to people who must fix the producer.

The scoring core works on columns, not on objects: :func:`to_frame` turns a batch of
transactions into a pandas DataFrame with :data:`FRAME_COLUMNS` (plus one ``x_<name>``
column per extra numeric feature), the shape Spark's ``mapInPandas`` also delivers. The
column layouts and the conversions back to records live in :mod:`fraudguard.frames` and
are re-exported here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
import numpy as np
import pandas as pd

from fraudguard.admission import DEFAULT_MAX_EVENT_SKEW_S, bound_extras, check_event_skew
from fraudguard.errors import ValidationError
from fraudguard.frames import (
    ENSEMBLE,
    EXTRA_PREFIX,
    FRAME_COLUMNS,
    MODEL_NAMES,
    PASS_THROUGH_COLUMNS,
    PREDICTION_COLUMNS,
    RULE_COLUMNS,
    from_frame,
    prediction_records,
)
from fraudguard.json_guard import decode_guarded

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


_decoder = msgspec.json.Decoder(Transaction)
_MISSING = re.compile(r"missing required field `([^`]+)`")
_encoder = msgspec.json.Encoder()


def check_transaction(tx: Transaction) -> None:
    """Rules msgspec's type constraints cannot express; raises :class:`ValidationError`.

    Event times must carry a time zone (a naive time is ambiguous across regions) and lie
    in a plausible range; latitude and longitude come in pairs; extras are finite and few.
    """
    et = tx.event_time
    if et.tzinfo is None:
        raise ValidationError("event_time", "must include a UTC offset (ISO-8601, e.g. 2026-01-01T12:00:00Z)")
    if not (MIN_EVENT_TIME <= et < MAX_EVENT_TIME):
        raise ValidationError(
            "event_time", f"{et.isoformat()} is outside [{MIN_EVENT_TIME.year}, {MAX_EVENT_TIME.year})"
        )
    if not math.isfinite(tx.amount):
        raise ValidationError("amount", "must be a finite number")
    if (tx.customer_lat is None) != (tx.customer_lon is None):
        raise ValidationError("customer_lat", "customer_lat and customer_lon must be given together")
    if (tx.merchant_lat is None) != (tx.merchant_lon is None):
        raise ValidationError("merchant_lat", "merchant_lat and merchant_lon must be given together")
    if len(tx.extras) > MAX_EXTRAS:
        raise ValidationError("extras", f"at most {MAX_EXTRAS} extra features, got {len(tx.extras)}")
    for name, value in tx.extras.items():
        if not math.isfinite(value):
            raise ValidationError(f"extras.{name}", "must be a finite number")


def _field_of(message: str) -> str:
    """Pull the JSON path msgspec puts at the end of its messages (``- at `$.amount```)."""
    marker = "- at `"
    i = message.rfind(marker)
    prefix = ""
    if i >= 0:
        path = message[i + len(marker) :].rstrip("`")
        prefix = path[2:] if path.startswith("$.") else ("" if path == "$" else path)
    missing = _MISSING.search(message)
    if missing:
        return f"{prefix}.{missing.group(1)}" if prefix else missing.group(1)
    return prefix or "$"


def decode_transaction(payload: bytes | bytearray | memoryview | str) -> Transaction:
    """Decode and validate one JSON transaction; raises :class:`ValidationError`."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ValidationError("$", f"message of {len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        tx = decode_guarded(_decoder.decode, payload)
    except msgspec.ValidationError as e:
        msg = str(e)
        raise ValidationError(_field_of(msg), msg.split(" - at ")[0]) from e
    except msgspec.DecodeError as e:
        raise ValidationError("$", f"malformed JSON: {e}") from e
    check_transaction(tx)
    return tx


def decode_batch(
    payloads: Iterable[bytes | bytearray | memoryview | str],
    *,
    max_skew_s: float | None = DEFAULT_MAX_EVENT_SKEW_S,
    now: datetime | None = None,
) -> tuple[list[Transaction], list[tuple[int, Rejection]]]:
    """Decode many messages; return the good ones and ``(index, rejection)`` for the rest.

    Nothing raises, for any bytes: a stream must go on past a bad message, so each
    rejection is kept with its position for the caller to send, with the original bytes,
    to the DLQ. ``max_skew_s`` (``None``: no limit) refuses events dated further ahead
    of ``now`` (default: the wall clock) than that. An unforeseen decoder failure is a rejection too (``undecodable message``),
    never an exception: one poison message must not stop the stream.
    """
    good: list[Transaction] = []
    bad: list[tuple[int, Rejection]] = []
    clock = now or datetime.now(UTC)
    for i, p in enumerate(payloads):
        try:
            tx = decode_transaction(p)
            if max_skew_s is not None:
                check_event_skew(tx, clock, max_skew_s)
            good.append(tx)
        except ValidationError as e:
            bad.append((i, Rejection(field=e.field, reason=e.reason)))
        except Exception as e:
            bad.append((i, Rejection(field="$", reason=f"undecodable message ({type(e).__name__})")))
    return good, bad


def encode(record: msgspec.Struct) -> bytes:
    """JSON bytes of any record in this module (datetimes as ISO-8601)."""
    return _encoder.encode(record)


def encode_many(records: Sequence[msgspec.Struct]) -> list[bytes]:
    """JSON bytes for each record."""
    enc = _encoder.encode
    return [enc(r) for r in records]


def to_frame(transactions: Sequence[Transaction]) -> pd.DataFrame:
    """Columnar view of a batch, the input of the feature pipeline and the scorer."""
    n = len(transactions)
    nan = float("nan")
    cols: dict[str, object] = {
        "transaction_id": [t.transaction_id for t in transactions],
        "card_id": [t.card_id for t in transactions],
        "customer_id": [t.customer_id for t in transactions],
        "event_time": pd.to_datetime([t.event_time for t in transactions], utc=True),
        "amount": np.fromiter((t.amount for t in transactions), dtype=np.float64, count=n),
        "currency": [t.currency for t in transactions],
        "merchant_id": [t.merchant_id for t in transactions],
        "merchant_category": [t.merchant_category for t in transactions],
        "channel": [t.channel for t in transactions],
        "card_present": np.fromiter((t.card_present for t in transactions), dtype=bool, count=n),
        "customer_lat": np.fromiter(
            (nan if t.customer_lat is None else t.customer_lat for t in transactions), np.float64, n
        ),
        "customer_lon": np.fromiter(
            (nan if t.customer_lon is None else t.customer_lon for t in transactions), np.float64, n
        ),
        "merchant_lat": np.fromiter(
            (nan if t.merchant_lat is None else t.merchant_lat for t in transactions), np.float64, n
        ),
        "merchant_lon": np.fromiter(
            (nan if t.merchant_lon is None else t.merchant_lon for t in transactions), np.float64, n
        ),
        "device_id": [t.device_id for t in transactions],
        "is_fraud": np.fromiter(
            (nan if t.is_fraud is None else float(t.is_fraud) for t in transactions), np.float64, n
        ),
        "fraud_scenario": [t.fraud_scenario for t in transactions],
    }
    frame = pd.DataFrame(cols)
    extra_names = sorted({k for t in transactions for k in t.extras})
    if not extra_names:
        return frame
    # one block for every extras column: inserting them one by one cost quadratic time
    col = {name: j for j, name in enumerate(extra_names)}
    block = np.full((n, len(extra_names)), nan)
    for i, t in enumerate(transactions):
        for name, value in t.extras.items():
            block[i, col[name]] = value
    extras = pd.DataFrame(block, columns=[EXTRA_PREFIX + name for name in extra_names], index=frame.index)
    return pd.concat([frame, extras], axis=1)


__all__ = [
    "CHANNELS",
    "DEFAULT_MAX_EVENT_SKEW_S",
    "ENSEMBLE",
    "EXTRA_PREFIX",
    "FRAME_COLUMNS",
    "MAX_AMOUNT",
    "MAX_EVENT_TIME",
    "MAX_EXTRAS",
    "MAX_MESSAGE_BYTES",
    "MERCHANT_CATEGORIES",
    "MIN_EVENT_TIME",
    "MODEL_NAMES",
    "PASS_THROUGH_COLUMNS",
    "PREDICTION_COLUMNS",
    "RULE_COLUMNS",
    "Alert",
    "Channel",
    "Decision",
    "Label",
    "Prediction",
    "Rejection",
    "Transaction",
    "bound_extras",
    "check_event_skew",
    "check_transaction",
    "decode_batch",
    "decode_transaction",
    "encode",
    "encode_many",
    "from_frame",
    "prediction_records",
    "to_frame",
]
