"""Liveness, readiness (each dependency reported) and the Prometheus scrape endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from fraudguard.api.deps import ReadKey, ServicesDep
from fraudguard.api.schemas import ReadyOut
from fraudguard.metrics.prometheus import CONTENT_TYPE, exposition

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers (no dependency is checked; async, so no thread-pool hop)."""
    return {"status": "ok"}


def _check_db(services: Any) -> tuple[bool, str]:
    if services.pool is None:
        return False, "not configured"
    try:
        with services.pool.connection(timeout=3.0) as conn:
            conn.execute("SELECT 1")
        return True, "ok"
    except Exception as e:  # any failure means "not ready"; the type tells the operator why
        return False, f"unreachable: {type(e).__name__}"


def _check_broker(services: Any) -> tuple[bool, str]:
    if not services.bootstrap:
        return False, "not configured"
    from fraudguard.errors import BrokerError
    from fraudguard.io.kafka import check_reachable

    try:
        check_reachable(services.bootstrap, timeout=3.0)
    except BrokerError:
        return False, "unreachable"
    tracker = services.tracker
    if tracker is not None and not tracker.running:
        return False, f"metrics reader stopped: {type(tracker.error).__name__}"
    return True, "ok"


@router.get("/readyz", dependencies=[ReadKey], response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(services: ServicesDep) -> Any:
    """200 when broker, database and model are all usable; 503 naming what is not."""
    db, broker = await asyncio.gather(
        asyncio.to_thread(_check_db, services), asyncio.to_thread(_check_broker, services)
    )
    model = (
        (True, services.scorer.version)
        if services.scorer is not None
        else (False, services.model_error or "not loaded")
    )
    checks = {"database": db, "broker": broker, "model": model}
    out = {
        "ready": all(ok for ok, _ in checks.values()),
        "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in checks.items()},
    }
    return JSONResponse(out, status_code=200 if out["ready"] else 503)


@router.get(
    "/metrics", dependencies=[ReadKey], response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}}
)
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition of the live metrics (custom registry)."""
    return Response(exposition(services.prometheus_registry), media_type=CONTENT_TYPE)
