"""Request and response bodies of the rules, backtest and webhook endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["allow", "review", "block"]
State = Literal["draft", "shadow", "active"]


class RuleIn(BaseModel):
    """A new rule. The condition is parsed and checked before anything is stored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    condition: str = Field(min_length=1, max_length=2000)
    action: Action
    priority: int = Field(0, ge=-1_000_000, le=1_000_000)
    owner: str = Field("", max_length=120)
    state: State = "draft"


class RuleChange(BaseModel):
    """Fields to change (at least one); each change is stored as a new version."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    condition: str | None = Field(None, min_length=1, max_length=2000)
    action: Action | None = None
    priority: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    owner: str | None = Field(None, max_length=120)
    state: State | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    condition: str
    action: str
    priority: int
    owner: str
    state: str
    version: int
    created_at: datetime
    updated_at: datetime


class RuleVersionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int
    name: str
    condition: str
    action: str
    priority: int
    owner: str
    state: str
    changed_by: str
    changed_at: datetime


class RuleAuditOut(BaseModel):
    id: int
    version: int
    actor: str
    change: str
    diff: dict[str, list[object]]
    at: datetime


class RuleHistoryOut(BaseModel):
    rule: RuleOut
    versions: list[RuleVersionOut]
    audit: list[RuleAuditOut]


class BacktestIn(BaseModel):
    """A condition to try on the Parquet history, e.g. the draft being edited."""

    model_config = ConfigDict(extra="forbid")

    condition: str = Field(min_length=1, max_length=2000)
    since: str = Field("7d", pattern=r"^[0-9]{1,4}[hd]$", description="how far back: 36h, 7d ...")


class BacktestDay(BaseModel):
    day: date
    transactions: int
    hits: int
    labelled_hits: int
    true_positives: int
    precision: float | None
    recall: float | None
    model_alerts: int
    overlap_with_model: int
    extra_alerts: int
    extra_alerts_per_1000: float


class BacktestOut(BaseModel):
    condition: str
    since: str
    rows: int
    seconds: float
    days: list[BacktestDay]
    total: BacktestDay | None
