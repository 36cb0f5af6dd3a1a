"""Typed dependencies of the routes: services, database connections, API-key checks.

Routes stay thin: they declare ``ServicesDep``, ``ConnDep``, ``WriteKey`` or ``ReadKey``
and do one call. Every refusal has a stable ``detail`` string clients can match on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from fraudguard.api.services import Services

NO_KEY = "missing API key (send it in the X-API-Key header)"
BAD_KEY = "invalid API key"
NO_DATABASE = "database not configured"
NO_BROKER = "broker not configured"
NO_MODEL = "model not loaded"

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (FRAUDGUARD_API_KEYS or `fraudguard api-key create`)."
)


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def check_key(services: Services, key: str | None) -> None:
    """401 without a key, 403 with a wrong one. Never open: with no key configured nothing passes.

    ``build_services`` makes sure a development API has a key (generated at start when
    none is configured), so "no key configured" only happens to hand-built services.
    """
    if not key:
        raise HTTPException(401, NO_KEY, headers={"WWW-Authenticate": "ApiKey"})
    if not services.keys.accepts(key):
        raise HTTPException(403, BAD_KEY)


def require_write_key(services: ServicesDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Every POST needs a key."""
    check_key(services, key)


def require_read_key(services: ServicesDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Reads (REST, ``/metrics``, ``/readyz``; WebSockets check the same) need a key only
    when ``api_read_requires_key`` is set. ``/healthz`` is always open."""
    if services.settings.api_read_requires_key:
        check_key(services, key)


WriteKey = Depends(require_write_key)
ReadKey = Depends(require_read_key)


def get_conn(services: ServicesDep) -> Iterator[Any]:
    """A pooled autocommit connection for one request (503 when no database is configured)."""
    if services.pool is None:
        raise HTTPException(503, NO_DATABASE)
    with services.pool.connection() as conn:
        yield conn


ConnDep = Annotated[Any, Depends(get_conn)]
