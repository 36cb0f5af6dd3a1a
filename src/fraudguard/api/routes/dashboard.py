"""The web dashboard: the page at ``/``, its static files at ``/static`` and ``GET /v1/analytics``.

The dashboard is plain HTML, CSS and ES modules shipped in the package
(``fraudguard/api/static``), so it works offline and needs no build step. The analytics
endpoint bundles the four PostgreSQL aggregates the page draws into one round trip.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from fraudguard.api.deps import ConnDep, ReadKey
from fraudguard.api.errors import check_query_time
from fraudguard.io import pg_analytics

STATIC_DIR = Path(__file__).parent.parent / "static"
INDEX = STATIC_DIR / "index.html"

router = APIRouter()


class AnalyticsOut(BaseModel):
    """Fraud by merchant category, UTC hour of day and amount bucket, and per-model quality."""

    by_category: list[dict[str, Any]]
    by_hour: list[dict[str, Any]]
    by_amount: list[dict[str, Any]]
    models: list[dict[str, Any]]


@router.get("/", include_in_schema=False)
def dashboard() -> FileResponse:
    """The dashboard page (no-cache: a new release must not be mixed with cached modules)."""
    return FileResponse(INDEX, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/v1/analytics", dependencies=[ReadKey], response_model=AnalyticsOut, tags=["reads"])
def analytics(conn: ConnDep, since: datetime | None = None, until: datetime | None = None) -> Any:
    """Aggregates over stored predictions for the dashboard (``since`` inclusive, ``until`` exclusive)."""
    for name, value in (("since", since), ("until", until)):
        check_query_time(name, value)
    return {
        "by_category": pg_analytics.fraud_by_category(conn, since=since, until=until),
        "by_hour": pg_analytics.fraud_by_hour(conn, since=since, until=until),
        "by_amount": pg_analytics.fraud_by_amount(conn, since=since, until=until),
        "models": pg_analytics.model_comparison(conn, since=since, until=until),
    }


def install_dashboard(app: FastAPI) -> None:
    """Add the page, the analytics route and the ``/static`` mount to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
