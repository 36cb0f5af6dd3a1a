"""The case queue: list (filters, keyset pages), detail, assign, notes, resolve; webhooks.

Changes need an API key; each one publishes the case on the ``cases`` WebSocket channel.
Resolving publishes the case's labels on the labels topic, exactly as ``POST /v1/labels``
does, after the database transaction (case, labels, outbox event) has committed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query

from fraudguard.api.case_schemas import (
    AssignIn,
    CaseDetailOut,
    CaseOut,
    CasePage,
    DeliveryOut,
    NoteIn,
    ResolveIn,
    WebhookIn,
    WebhookOut,
)
from fraudguard.api.deps import ConnDep, ReadKey, ServicesDep, WriteKey
from fraudguard.api.routes.rules import actor
from fraudguard.io import pg_cases, pg_webhooks

router = APIRouter(tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=2**62)]
Actor = Annotated[str, Depends(actor)]
CASE_NOT_FOUND = "case not found"


def _publish(services: Any, case: dict[str, Any]) -> None:
    msg = orjson.dumps({"type": "case", "case": case}, default=str).decode()
    services.hub.publish("cases", [msg])


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except pg_cases.CaseNotFound as e:
        raise HTTPException(404, CASE_NOT_FOUND) from e
    except pg_cases.CaseConflict as e:
        raise HTTPException(409, e.reason) from e


@router.get("/v1/cases", dependencies=[ReadKey], response_model=CasePage)
def get_cases(
    conn: ConnDep,
    status: str | None = None,
    assignee: Annotated[str | None, Query(max_length=120)] = None,
    card_id: Annotated[str | None, Query(max_length=128)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Cases newest first; ``next_cursor`` goes into ``before`` for the next page."""
    items = pg_cases.list_cases(conn, status=status, assignee=assignee, card_id=card_id, before_id=before, limit=limit)
    return {"items": items, "next_cursor": items[-1]["id"] if len(items) == limit else None}


@router.get("/v1/cases/{case_id}", dependencies=[ReadKey], response_model=CaseDetailOut)
def get_case(case_id: CaseId, conn: ConnDep) -> Any:
    """The case, its alerts with reasons and matched rules, and its audit trail."""
    return _call(pg_cases.case_detail, conn, case_id)


@router.post("/v1/cases/{case_id}/assign", dependencies=[WriteKey], response_model=CaseOut)
def post_assign(case_id: CaseId, body: AssignIn, conn: ConnDep, services: ServicesDep, who: Actor) -> Any:
    """Give the case to someone; an open case goes to ``in_review``."""
    case = _call(pg_cases.assign, conn, case_id, body.assignee, who)
    _publish_threadsafe(services, case)
    return case


@router.post("/v1/cases/{case_id}/notes", dependencies=[WriteKey], response_model=CaseOut)
def post_note(case_id: CaseId, body: NoteIn, conn: ConnDep, services: ServicesDep, who: Actor) -> Any:
    """Append a note to the case's trail."""
    case = _call(pg_cases.add_note, conn, case_id, body.text, who)
    _publish_threadsafe(services, case)
    return case


@router.post("/v1/cases/{case_id}/resolve", dependencies=[WriteKey], response_model=CaseOut)
async def post_resolve(case_id: CaseId, body: ResolveIn, services: ServicesDep, who: Actor) -> Any:
    """Close the case as ``confirmed_fraud`` or ``legitimate`` and publish its labels."""
    from fraudguard.api.routes.writes import publish_labels

    def run() -> Any:
        if services.pool is None:
            raise HTTPException(503, "database not configured")
        with services.pool.connection() as conn:
            return _call(pg_cases.resolve, conn, case_id, body.outcome, who, body.note)

    case, labels = await asyncio.to_thread(run)
    if services.producer is not None and labels:
        await asyncio.to_thread(publish_labels, services, labels)
    _publish(services, case)
    return case


def _publish_threadsafe(services: Any, case: dict[str, Any]) -> None:
    loop = getattr(services, "loop", None)
    if loop is not None:
        loop.call_soon_threadsafe(_publish, services, case)


@router.post("/v1/webhooks", dependencies=[WriteKey], response_model=WebhookOut, status_code=201, tags=["webhooks"])
def post_webhook(body: WebhookIn, conn: ConnDep) -> Any:
    """Register an endpoint; the answer holds its signing secret (generated unless given), shown once."""
    return pg_webhooks.register(conn, body.url, list(body.events), body.format, body.secret)


@router.get("/v1/webhooks", dependencies=[ReadKey], response_model=list[WebhookOut], tags=["webhooks"])
def get_webhooks(conn: ConnDep) -> Any:
    """Registered endpoints (secrets are never listed)."""
    return pg_webhooks.endpoints(conn)


@router.get("/v1/webhooks/deliveries", dependencies=[ReadKey], response_model=list[DeliveryOut], tags=["webhooks"])
def get_deliveries(conn: ConnDep, status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
    """Deliveries newest first; ``?status=dead`` lists those that gave up."""
    rows = pg_webhooks.deliveries(conn, status, limit)
    return [{**r, "key": str(r["key"])} for r in rows]


@router.post(
    "/v1/webhooks/deliveries/{event_id}/{endpoint_id}/resend",
    dependencies=[WriteKey],
    status_code=202,
    tags=["webhooks"],
)
def post_resend(
    event_id: Annotated[int, Path(ge=1)], endpoint_id: Annotated[int, Path(ge=1)], conn: ConnDep
) -> dict[str, bool]:
    """Make a dead delivery due again (attempts reset)."""
    if not pg_webhooks.resend(conn, event_id, endpoint_id):
        raise HTTPException(404, "delivery not found")
    return {"queued": True}
