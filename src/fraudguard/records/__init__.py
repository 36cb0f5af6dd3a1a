"""Every record FraudGuard reads or writes, each declared once, and the one converter.

* :mod:`~fraudguard.records.transaction`: :class:`Transaction` (the wire struct) and
  :data:`TRANSACTION_SCHEMA` (its columns); :mod:`~fraudguard.records.prediction`:
  :class:`Prediction` and :data:`PREDICTION_SCHEMA`, with the :class:`Alert` and
  :class:`ScoreResult` views; :mod:`~fraudguard.records.label`: :class:`Label`.
  Column tuples, frame dtypes and the Spark DDL are derived from these declarations.
* :mod:`~fraudguard.records.decode`: JSON bytes to validated transactions (rejections name
  the field and the reason, for the dead-letter topic and the API).
* :mod:`~fraudguard.records.convert` (+ ``convert_arrow``, ``convert_json``): structs ↔
  frames ↔ Arrow ↔ JSON bytes, column by column.

Pure: no I/O, no other FraudGuard package but :mod:`fraudguard.errors`,
:mod:`fraudguard.admission` and :mod:`fraudguard.json_guard` (a test keeps it so).
"""

from fraudguard.records.convert import (
    ColumnArrays,
    arrays_to_frame,
    encode,
    encode_many,
    from_frame,
    prediction_records,
    to_frame,
    transaction_arrays,
)
from fraudguard.records.convert_arrow import arrays_to_arrow, predictions_from_arrow, predictions_to_arrow, time_array
from fraudguard.records.convert_json import arrays_to_json, encode_alerts, encode_predictions
from fraudguard.records.decode import check_transaction, decode_batch, decode_transaction
from fraudguard.records.label import Label
from fraudguard.records.prediction import (
    ENSEMBLE,
    LIST_COLUMNS,
    MODEL_NAMES,
    PASS_THROUGH_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTION_FRAME_SCHEMA,
    PREDICTION_SCHEMA,
    RULE_COLUMNS,
    SCORE_COLUMNS,
    TIME_COLUMNS,
    Alert,
    Decision,
    Prediction,
    RuleAction,
    ScoreBatch,
    ScoreResult,
)
from fraudguard.records.transaction import (
    CHANNELS,
    EXTRA_PREFIX,
    MAX_AMOUNT,
    MAX_EVENT_TIME,
    MAX_EXTRAS,
    MAX_MESSAGE_BYTES,
    MERCHANT_CATEGORIES,
    MIN_EVENT_TIME,
    TRANSACTION_COLUMNS,
    TRANSACTION_OPTIONAL_FLOATS,
    TRANSACTION_SCHEMA,
    UTC_US,
    Channel,
    Rejection,
    Transaction,
)

__all__ = [
    "CHANNELS",
    "ENSEMBLE",
    "EXTRA_PREFIX",
    "LIST_COLUMNS",
    "MAX_AMOUNT",
    "MAX_EVENT_TIME",
    "MAX_EXTRAS",
    "MAX_MESSAGE_BYTES",
    "MERCHANT_CATEGORIES",
    "MIN_EVENT_TIME",
    "MODEL_NAMES",
    "PASS_THROUGH_COLUMNS",
    "PREDICTION_COLUMNS",
    "PREDICTION_FRAME_SCHEMA",
    "PREDICTION_SCHEMA",
    "RULE_COLUMNS",
    "SCORE_COLUMNS",
    "TIME_COLUMNS",
    "TRANSACTION_COLUMNS",
    "TRANSACTION_OPTIONAL_FLOATS",
    "TRANSACTION_SCHEMA",
    "UTC_US",
    "Alert",
    "Channel",
    "ColumnArrays",
    "Decision",
    "Label",
    "Prediction",
    "Rejection",
    "RuleAction",
    "ScoreBatch",
    "ScoreResult",
    "Transaction",
    "arrays_to_arrow",
    "arrays_to_frame",
    "arrays_to_json",
    "check_transaction",
    "decode_batch",
    "decode_transaction",
    "encode",
    "encode_alerts",
    "encode_many",
    "encode_predictions",
    "from_frame",
    "prediction_records",
    "predictions_from_arrow",
    "predictions_to_arrow",
    "time_array",
    "to_frame",
    "transaction_arrays",
]
