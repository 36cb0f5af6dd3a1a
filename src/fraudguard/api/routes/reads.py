"""Read endpoints over PostgreSQL: one prediction, a card's risk, the alert list, stats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from fraudguard.api.deps import ConnDep, ReadKey, ServicesDep
from fraudguard.api.errors import check_query_time
from fraudguard.api.schemas import AlertPage, CardRiskOut, PredictionOut, StatsOut, Velocity
from fraudguard.io import pg_analytics, pg_queries

router = APIRouter(dependencies=[ReadKey], tags=["reads"])
Id = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]
TX_NOT_FOUND = "transaction not found"
CARD_NOT_FOUND = "card not found"


def _aware(name: str, value: datetime | None) -> datetime | None:
    return check_query_time(name, value)


@router.get(
    "/v1/transactions/{transaction_id}", response_model=PredictionOut, responses={404: {"description": TX_NOT_FOUND}}
)
def get_transaction(transaction_id: Id, conn: ConnDep) -> Any:
    """The stored prediction with every model's score and the reason codes."""
    row = pg_queries.get_prediction(conn, transaction_id)
    if row is None:
        raise HTTPException(404, TX_NOT_FOUND)
    return row


def risk_level(history: Mapping[str, Any], velocity: Velocity) -> Literal["low", "medium", "high"]:
    """High: an alert in the last day or a score over its threshold; medium: any alert, or a busy hour."""
    recent = history["recent_transactions"]
    over = any(r["ensemble_score"] >= r["threshold"] for r in recent[:5])
    if velocity.alerts_24h or over:
        return "high"
    if history["alerts"] or velocity.transactions_1h >= 5:
        return "medium"
    return "low"


@router.get("/v1/cards/{card_id}/risk", response_model=CardRiskOut, responses={404: {"description": CARD_NOT_FOUND}})
def card_risk(card_id: Id, conn: ConnDep) -> Any:
    """History summary, velocity in the hour/day before the card's last transaction, recent alerts."""
    history = pg_queries.card_history(conn, card_id, recent=100)
    if history is None:
        raise HTTPException(404, CARD_NOT_FOUND)
    last = history["last_seen"]
    txs = history["recent_transactions"]

    def within(rows: Sequence[Mapping[str, Any]], hours: int) -> list[Mapping[str, Any]]:
        return [r for r in rows if r["event_time"] > last - timedelta(hours=hours)]

    h1, d1 = within(txs, 1), within(txs, 24)
    velocity = Velocity(
        transactions_1h=len(h1), transactions_24h=len(d1), amount_1h=sum(r["amount"] for r in h1),
        amount_24h=sum(r["amount"] for r in d1), alerts_24h=sum(r["decision"] == "fraud" for r in d1),
    )  # fmt: skip
    return {
        **history,
        "velocity": velocity,
        "risk_level": risk_level(history, velocity),
        "recent_alerts": history["recent_alerts"][:20],
    }  # type: ignore[arg-type]


@router.get("/v1/alerts", response_model=AlertPage)
def alerts(
    conn: ConnDep,
    since: datetime | None = None,
    until: datetime | None = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    model_version: Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\x00]+$")] = None,
    decision: Literal["fraud", "legit", "all"] = "fraud",
    limit: Annotated[int, Query(ge=1, le=pg_queries.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> Any:
    """Alerts (or every prediction with ``decision=all``), newest first, keyset-paginated."""
    return pg_queries.list_predictions(
        conn, decision=None if decision == "all" else decision, since=_aware("since", since), until=_aware("until", until),
        min_score=min_score, model_version=model_version, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.get("/v1/stats", response_model=StatsOut)
def stats(services: ServicesDep, since: datetime | None = None, until: datetime | None = None) -> Any:
    """Counts and fraud rate (PostgreSQL, when configured) and the tracker's live per-model metrics."""
    database = None
    if services.pool is not None:
        with services.pool.connection() as conn:
            database = pg_analytics.stats(conn, since=_aware("since", since), until=_aware("until", until))
    b = services.batcher
    scoring = {"batches": b.batches, "transactions": b.items} if b is not None else None
    return {"database": database, "live": {**services.snapshot(), "api_scoring": scoring}}
