"""Column layout of transaction and prediction frames, and conversions back to records.

The scoring core works on columns: :func:`fraudguard.schema.to_frame` builds a transaction
frame with :data:`FRAME_COLUMNS`, the scorer returns a prediction frame with
:data:`PREDICTION_COLUMNS`. This module holds those layouts and the (slower, per-row)
conversions from frames back to msgspec records, used by training files, the API and tests.
Every name here is also importable from :mod:`fraudguard.schema`. The structs come from
:mod:`fraudguard.record_types`, so this module and ``schema`` no longer import each other.
"""

from __future__ import annotations

import math

import pandas as pd

from fraudguard.record_types import Prediction, Transaction

MODEL_NAMES: tuple[str, ...] = ("xgboost", "random_forest", "isolation_forest")
"""The base models every registry version holds; the ensemble combines their scores."""
ENSEMBLE = "ensemble"

EXTRA_PREFIX = "x_"
"""Prefix of the frame column holding one ``Transaction.extras`` entry (``x_V1`` ...)."""

FRAME_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "card_id",
    "customer_id",
    "event_time",
    "amount",
    "currency",
    "merchant_id",
    "merchant_category",
    "channel",
    "card_present",
    "customer_lat",
    "customer_lon",
    "merchant_lat",
    "merchant_lon",
    "device_id",
    "is_fraud",
    "fraud_scenario",
)
"""Columns of a transaction frame. ``event_time`` is ``datetime64[ns, UTC]``; coordinates
are float64 with NaN for missing; ``is_fraud`` is float64 (1.0 / 0.0 / NaN for unknown)."""

_IDENTITY_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "card_id",
    "customer_id",
    "event_time",
    "amount",
    "merchant_id",
    "merchant_category",
    "channel",
)
_LABEL_COLUMNS: tuple[str, ...] = ("is_fraud", "fraud_scenario")
RULE_COLUMNS: tuple[str, ...] = ("rule_ids", "rule_action", "shadow_rule_ids")
"""Rule outcome per prediction (see :mod:`fraudguard.rules`): ids of the matching active
rules (the first decided), the deciding rule's action (None: the model decided), and ids of
the matching shadow rules. Empty lists and None when no rule is in force."""
LIST_COLUMNS: tuple[str, ...] = ("reasons", "rule_ids", "shadow_rule_ids")
"""Prediction columns holding a Python list of strings per row."""

PASS_THROUGH_COLUMNS: tuple[str, ...] = (*_IDENTITY_COLUMNS, *_LABEL_COLUMNS)
"""Transaction-frame columns a prediction frame copies unchanged (so sinks need no join)."""

PREDICTION_COLUMNS: tuple[str, ...] = (
    *_IDENTITY_COLUMNS,
    *(f"score_{m}" for m in MODEL_NAMES),
    "ensemble_score",
    "threshold",
    "decision",
    "reasons",
    "model_version",
    *RULE_COLUMNS,
    *_LABEL_COLUMNS,
    "produced_at",
    "scored_at",
)
"""Columns of a prediction frame, the unit every sink writes.

``event_time``, ``produced_at`` and ``scored_at`` are ``datetime64[ns, UTC]`` (``produced_at``
NaT when unknown); ``decision`` is ``"fraud"`` or ``"legit"``; ``reasons``, ``rule_ids``
and ``shadow_rule_ids`` hold a Python list of strings per row; ``is_fraud`` is float64 (1.0 / 0.0 / NaN unknown).
"""


def _opt(value: object) -> object:
    """``None`` for a missing cell (``None`` or float NaN), else the value unchanged."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def from_frame(frame: pd.DataFrame) -> list[Transaction]:
    """Inverse of :func:`fraudguard.schema.to_frame` (used by training files and tests).

    Per-row and slow on purpose: records are rebuilt through the struct constructor so a
    frame that round-trips keeps exactly the values a producer would have sent.
    """
    extras = [c for c in frame.columns if c.startswith(EXTRA_PREFIX)]
    out: list[Transaction] = []
    for row in frame.to_dict("records"):
        label = _opt(row.get("is_fraud"))
        out.append(
            Transaction(
                transaction_id=str(row["transaction_id"]),
                card_id=str(row["card_id"]),
                customer_id=_opt(row.get("customer_id")),  # type: ignore[arg-type]
                event_time=pd.Timestamp(row["event_time"]).to_pydatetime(),
                amount=float(row["amount"]),
                currency=row.get("currency") or "USD",
                merchant_id=str(row["merchant_id"]),
                merchant_category=row.get("merchant_category") or "other",
                channel=row.get("channel") or "pos",
                card_present=bool(row.get("card_present", True)),
                customer_lat=_opt(row.get("customer_lat")),  # type: ignore[arg-type]
                customer_lon=_opt(row.get("customer_lon")),  # type: ignore[arg-type]
                merchant_lat=_opt(row.get("merchant_lat")),  # type: ignore[arg-type]
                merchant_lon=_opt(row.get("merchant_lon")),  # type: ignore[arg-type]
                device_id=_opt(row.get("device_id")),  # type: ignore[arg-type]
                is_fraud=None if label is None else bool(label),
                fraud_scenario=_opt(row.get("fraud_scenario")),  # type: ignore[arg-type]
                extras={c[len(EXTRA_PREFIX) :]: float(row[c]) for c in extras if not math.isnan(row[c])},
            )
        )
    return out


def _py_time(value: object) -> object:
    """A Python ``datetime`` for a timestamp cell, ``None`` for a missing one (NaT)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()  # type: ignore[arg-type]


def _strings(value: object) -> list[str]:
    """A list cell as a list of strings (missing or NaN: empty)."""
    return [] if value is None or isinstance(value, float) else [str(v) for v in value]  # type: ignore[attr-defined]


def prediction_records(frame: pd.DataFrame) -> list[Prediction]:
    """Prediction structs from a prediction frame (API responses, small batches).

    Sinks write the frame itself; records are for callers that answer one request at a
    time and need JSON with per-model ``scores`` as a mapping.
    """
    out: list[Prediction] = []
    for row in frame.to_dict("records"):
        label = row.get("is_fraud")
        out.append(
            Prediction(
                transaction_id=row["transaction_id"],
                card_id=row["card_id"],
                event_time=pd.Timestamp(row["event_time"]).to_pydatetime(),
                amount=float(row["amount"]),
                merchant_id=row["merchant_id"],
                merchant_category=row["merchant_category"],
                scores={m: float(row[f"score_{m}"]) for m in MODEL_NAMES},
                ensemble_score=float(row["ensemble_score"]),
                threshold=float(row["threshold"]),
                decision=row["decision"],
                reasons=list(row["reasons"]),
                model_version=row["model_version"],
                rule_ids=_strings(row.get("rule_ids")),
                rule_action=_opt(row.get("rule_action")),  # type: ignore[arg-type]
                shadow_rule_ids=_strings(row.get("shadow_rule_ids")),
                is_fraud=None if label is None or pd.isna(label) else bool(label),
                fraud_scenario=row.get("fraud_scenario") or None,
                produced_at=_py_time(row.get("produced_at")),  # type: ignore[arg-type]
                scored_at=_py_time(row.get("scored_at")),  # type: ignore[arg-type]
            )
        )
    return out
