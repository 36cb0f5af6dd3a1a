"""Request and response bodies of the case queue and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CaseOut(BaseModel):
    id: int
    card_id: str
    status: str
    assignee: str | None
    first_event_time: datetime
    last_event_time: datetime
    alerts: int
    max_score: float
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: int | None
    """Pass as ``before`` to get the next (older) page; ``None`` on the last page."""


class CaseAlertOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    transaction_id: str
    event_time: datetime
    amount: float
    ensemble_score: float
    reasons: list[str]
    rule_ids: list[str]


class CaseEventOut(BaseModel):
    id: int
    actor: str
    kind: str
    detail: dict[str, Any]
    at: datetime


class CaseDetailOut(CaseOut):
    alert_list: list[CaseAlertOut]
    events: list[CaseEventOut]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=120)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["confirmed_fraud", "legitimate"]
    note: str | None = Field(None, max_length=4000)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000)
    events: list[Literal["alert.created", "case.resolved", "rule.changed"]] = Field(min_length=1, max_length=3)
    format: Literal["json", "slack"] = "json"
    secret: str | None = Field(None, min_length=16, max_length=200)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    format: str
    active: bool
    created_at: datetime
    secret: str | None = None
    """Only in the answer to the registration: store it, it is not shown again."""


class DeliveryOut(BaseModel):
    event_id: int
    endpoint_id: int
    key: str
    type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status: int | None
    delivered_at: datetime | None
