"""The prediction record: one msgspec struct for the wire, one Arrow schema for columns.

The scorer returns a prediction frame with :data:`PREDICTION_SCHEMA`'s columns; every sink
writes it (Parquet files and the PostgreSQL COPY take exactly this Arrow schema, so it
must not change without a migration). Kafka messages and API answers are
:class:`Prediction` JSON, with the per-model scores as one mapping. :class:`Alert` and
:class:`ScoreResult` are views of a prediction; their fields are a subset of its fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
import pyarrow as pa

from fraudguard.records.transaction import TRANSACTION_COLUMNS, UTC_US

Decision = Literal["fraud", "legit"]
RuleAction = Literal["allow", "review", "block"]

MODEL_NAMES: tuple[str, ...] = ("xgboost", "random_forest", "isolation_forest")
"""The base models every registry version holds; the ensemble combines their scores."""
ENSEMBLE = "ensemble"


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
    rule_ids: list[str] = msgspec.field(default_factory=list)  # see RULE_COLUMNS
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


class ScoreResult(msgspec.Struct):
    """One decision as ``POST /v1/score`` answers it (the route and the fast path alike)."""

    transaction_id: str
    card_id: str
    scores: dict[str, float]
    ensemble_score: float
    threshold: float
    decision: Decision
    reasons: list[str]
    model_version: str
    recorded: bool
    duplicate: bool = False
    """True when this id was recorded before: the stored decision, nothing applied again."""
    rule_ids: list[str] = msgspec.field(default_factory=list)
    """Matching active rules, the first decided (empty: the model's threshold decided)."""
    rule_action: RuleAction | None = None


class ScoreBatch(msgspec.Struct):
    """The answer to a list of transactions: one :class:`ScoreResult` each, in order."""

    predictions: list[ScoreResult]


SCORE_COLUMNS: tuple[str, ...] = tuple(f"score_{m}" for m in MODEL_NAMES)
"""Frame columns of :attr:`Prediction.scores`, one per base model, in :data:`MODEL_NAMES` order."""

PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("card_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string()),
        pa.field("event_time", UTC_US, nullable=False),
        pa.field("amount", pa.float64(), nullable=False),
        pa.field("merchant_id", pa.string(), nullable=False),
        pa.field("merchant_category", pa.string(), nullable=False),
        pa.field("channel", pa.string()),
        *(pa.field(name, pa.float64()) for name in SCORE_COLUMNS),
        pa.field("ensemble_score", pa.float64(), nullable=False),
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reasons", pa.list_(pa.string())),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("rule_ids", pa.list_(pa.string())),
        pa.field("rule_action", pa.string()),
        pa.field("shadow_rule_ids", pa.list_(pa.string())),
        pa.field("is_fraud", pa.bool_()),
        pa.field("fraud_scenario", pa.string()),
        pa.field("produced_at", UTC_US),
        pa.field("scored_at", UTC_US),
    ]
)
"""Columns of a prediction frame: the Parquet file schema and the PostgreSQL COPY input.

In a pandas frame the timestamps are ``datetime64[ns, UTC]`` (``produced_at`` NaT when
unknown), ``decision`` is ``"fraud"`` or ``"legit"``, list columns hold a Python list of
strings per row and ``is_fraud`` is float64 (see :data:`PREDICTION_FRAME_SCHEMA`).
"""

PREDICTION_FRAME_SCHEMA = PREDICTION_SCHEMA.set(
    PREDICTION_SCHEMA.get_field_index("is_fraud"), pa.field("is_fraud", pa.float64())
)
""":data:`PREDICTION_SCHEMA` as the types a frame carries: the label is float64 (1.0 / 0.0 /
NaN unknown) there, as in a transaction frame, and a nullable boolean only when stored.
Spark's prediction rows are declared from this schema."""

PREDICTION_COLUMNS: tuple[str, ...] = tuple(PREDICTION_SCHEMA.names)
PASS_THROUGH_COLUMNS: tuple[str, ...] = tuple(c for c in PREDICTION_COLUMNS if c in TRANSACTION_COLUMNS)
"""Transaction-frame columns a prediction frame copies unchanged (so sinks need no join)."""
LIST_COLUMNS: tuple[str, ...] = tuple(f.name for f in PREDICTION_SCHEMA if pa.types.is_list(f.type))
"""Prediction columns holding a Python list of strings per row."""
TIME_COLUMNS: tuple[str, ...] = tuple(f.name for f in PREDICTION_SCHEMA if pa.types.is_timestamp(f.type))
"""Prediction columns holding UTC timestamps."""
RULE_COLUMNS: tuple[str, ...] = ("rule_ids", "rule_action", "shadow_rule_ids")
"""Rule outcome per prediction (see :mod:`fraudguard.rules`): ids of the matching active
rules (the first decided), the deciding rule's action (None: the model decided), and ids of
the matching shadow rules. Empty lists and None when no rule is in force."""
