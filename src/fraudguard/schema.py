"""Records that cross process boundaries: transactions in, predictions, alerts and labels out.

The structs live in :mod:`fraudguard.record_types`, decoding and validation in
:mod:`fraudguard.decoding`; both are re-exported here, so ``fraudguard.schema`` stays the
one import for every record name. Decoding (about 400k records/s per core with msgspec
typed structs) names the field and the reason of every rejection, because the
dead-letter topic and the API both report them to people who must fix the producer.

The scoring core works on columns, not on objects: :func:`to_frame` turns a batch of
transactions into a pandas DataFrame with :data:`FRAME_COLUMNS` (plus one ``x_<name>``
column per extra numeric feature), the shape Spark's ``mapInPandas`` also delivers. The
column layouts and the conversions back to records live in :mod:`fraudguard.frames` and
are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
import pandas as pd

from fraudguard.admission import DEFAULT_MAX_EVENT_SKEW_S, bound_extras, check_event_skew
from fraudguard.decoding import check_transaction, decode_batch, decode_transaction
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
from fraudguard.record_types import (
    CHANNELS,
    MAX_AMOUNT,
    MAX_EVENT_TIME,
    MAX_EXTRAS,
    MAX_MESSAGE_BYTES,
    MERCHANT_CATEGORIES,
    MIN_EVENT_TIME,
    Alert,
    Channel,
    Decision,
    Label,
    Prediction,
    Rejection,
    Transaction,
)

_encoder = msgspec.json.Encoder()


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
