"""Request and response bodies of the REST API (separate classes for what comes in and goes out).

Transactions are decoded with the same msgspec struct and checks as the stream
(:func:`fraudguard.records.decode_transaction`), so the API accepts exactly what the
``transactions`` topic accepts; :func:`transaction_openapi` documents that body in OpenAPI,
and :func:`score_openapi` the answer (:class:`fraudguard.records.ScoreResult`), which both
the route and the fast path encode with msgspec.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fraudguard.records import ScoreBatch, ScoreResult, Transaction

MAX_BATCH = 1000
_REF = "#/components/schemas/{name}"
NoNul = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


def transaction_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """OpenAPI request-body schema for "one transaction or a list" and the components it references."""
    (ref,), components = msgspec.json.schema_components([Transaction], ref_template=_REF)
    body = {"anyOf": [ref, {"type": "array", "items": ref, "minItems": 1, "maxItems": MAX_BATCH}]}
    return body, components


def score_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """OpenAPI schema of the ``POST /v1/score`` answer (one result or a batch) and its components."""
    refs, components = msgspec.json.schema_components([ScoreResult, ScoreBatch], ref_template=_REF)
    return {"anyOf": list(refs)}, components


def record_components() -> dict[str, Any]:
    """Every msgspec record schema the OpenAPI document references (request and answer)."""
    return {**transaction_openapi()[1], **score_openapi()[1]}


class PredictionOut(BaseModel):
    """A stored prediction (``fraud_predictions`` row)."""

    model_config = ConfigDict(extra="ignore")

    transaction_id: str
    card_id: str
    customer_id: str | None
    event_time: datetime
    amount: float
    merchant_id: str
    merchant_category: str
    channel: str | None
    scores: dict[str, float | None]
    ensemble_score: float
    threshold: float
    decision: str
    reasons: list[str]
    model_version: str
    rule_ids: list[str] = []
    rule_action: str | None = None
    shadow_rule_ids: list[str] = []
    is_fraud: bool | None
    fraud_scenario: str | None
    produced_at: datetime | None
    scored_at: datetime | None
    label: bool | None
    label_source: str | None
    labelled_at: datetime | None


class AlertPage(BaseModel):
    items: list[PredictionOut]
    next_cursor: str | None


class Velocity(BaseModel):
    """Activity of the card in the hour and the day before its latest transaction."""

    transactions_1h: int
    transactions_24h: int
    amount_1h: float
    amount_24h: float
    alerts_24h: int


class CardRiskOut(BaseModel):
    card_id: str
    risk_level: Literal["low", "medium", "high"]
    transactions: int
    alerts: int
    amount_sum: float
    amount_avg: float
    max_score: float | None
    first_seen: datetime
    last_seen: datetime
    velocity: Velocity
    recent_alerts: list[PredictionOut]


class LabelIn(BaseModel):
    """Late ground truth for one transaction (chargeback, analyst decision)."""

    model_config = ConfigDict(extra="forbid")

    transaction_id: NoNul
    is_fraud: bool
    source: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] = "analyst"
    labelled_at: datetime | None = None

    @field_validator("labelled_at")
    @classmethod
    def _real_offset(cls, v: datetime | None) -> datetime | None:
        """Offsets beyond -12:00..+14:00 exist in no time zone (PostgreSQL refused +17:45: was a 503)."""
        if v is None:
            return v
        off = v.utcoffset()
        if off is not None and not (timedelta(hours=-12) <= off <= timedelta(hours=14)):
            raise ValueError("UTC offset must lie between -12:00 and +14:00")
        if not (datetime(1970, 1, 1) <= v.replace(tzinfo=None) < datetime(2200, 1, 1)):
            raise ValueError("must lie between 1970 and 2200")
        return v


class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: Annotated[list[LabelIn], Field(min_length=1, max_length=MAX_BATCH)]


class LabelsOut(BaseModel):
    received: int
    published: bool
    stored: bool
    updated_predictions: int | None


class GeneratorIn(BaseModel):
    """Requested generator state; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    running: bool | None = None
    tps: Annotated[float, Field(gt=0, le=50_000)] | None = None
    fraud_rate: Annotated[float, Field(ge=0, le=0.5)] | None = None
    drift: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=3)] | None = None
    """``amount[:F]``, ``category[:S]``, ``fraud-mix[:F]`` (the CLI's ``--drift``); ``[]``: a steady stream."""
    drift_days: Annotated[float, Field(gt=0, le=365)] | None = None
    """Simulated days the drift ramps over, from the (re)start."""


class GeneratorOut(BaseModel):
    running: bool
    tps: float
    fraud_rate: float
    drift: list[str]
    drift_days: float
    sent: int
    error: str | None


class CheckOut(BaseModel):
    ok: bool
    detail: str


class ReadyOut(BaseModel):
    ready: bool
    checks: dict[str, CheckOut]


class StatsOut(BaseModel):
    """Headline counts from PostgreSQL plus live per-model metrics from the tracker."""

    database: dict[str, Any] | None
    live: dict[str, Any]
