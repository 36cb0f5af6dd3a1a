"""The record names under their original import path: a re-export of :mod:`fraudguard.records`.

Records, column layouts, decoding and conversions are declared once, in
:mod:`fraudguard.records`. About ninety modules and tests import them as
``fraudguard.schema``; this module keeps that path working (``FRAME_COLUMNS`` is the old
name of :data:`~fraudguard.records.TRANSACTION_COLUMNS`) and declares nothing itself.
New code imports :mod:`fraudguard.records`.
"""

from __future__ import annotations

from fraudguard.admission import DEFAULT_MAX_EVENT_SKEW_S, bound_extras, check_event_skew
from fraudguard.records import (
    CHANNELS,
    ENSEMBLE,
    EXTRA_PREFIX,
    MAX_AMOUNT,
    MAX_EVENT_TIME,
    MAX_EXTRAS,
    MAX_MESSAGE_BYTES,
    MERCHANT_CATEGORIES,
    MIN_EVENT_TIME,
    MODEL_NAMES,
    PASS_THROUGH_COLUMNS,
    PREDICTION_COLUMNS,
    RULE_COLUMNS,
    TRANSACTION_COLUMNS,
    Alert,
    Channel,
    Decision,
    Label,
    Prediction,
    Rejection,
    Transaction,
    check_transaction,
    decode_batch,
    decode_transaction,
    encode,
    encode_many,
    from_frame,
    prediction_records,
    to_frame,
)

FRAME_COLUMNS = TRANSACTION_COLUMNS

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
