"""Typed dependencies of the routes: services, database connections, API-key checks.

Routes stay thin: they declare ``ServicesDep``, ``ConnDep``, ``WriteKey`` or ``ReadKey``
and do one call. Every refusal has a stable ``detail`` string clients can match on. The
key checks only turn :func:`fraudguard.api.security.key_allowed`'s verdict into 401/403.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from fraudguard.api.security import Access, Verdict, key_allowed
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


def check_key(services: Services, key: str | None, access: Access) -> None:
    """Nothing when :func:`~fraudguard.api.security.key_allowed` says yes; else 401 (no key) or 403 (wrong key)."""
    verdict = key_allowed(services.policy, key, access)
    if verdict is Verdict.MISSING:
        raise HTTPException(401, NO_KEY, headers={"WWW-Authenticate": "ApiKey"})
    if verdict is Verdict.INVALID:
        raise HTTPException(403, BAD_KEY)


def require_write_key(services: ServicesDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Every POST needs a key."""
    check_key(services, key, Access.WRITE)


def require_read_key(services: ServicesDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Reads (REST, ``/metrics``, ``/readyz``) need a key only when ``api_read_requires_key`` is set.

    ``/healthz`` declares no check at all; WebSockets ask :func:`key_allowed` for a read too.
    """
    check_key(services, key, Access.READ)


WriteKey = Depends(require_write_key)
ReadKey = Depends(require_read_key)


def get_conn(services: ServicesDep) -> Iterator[Any]:
    """A pooled autocommit connection for one request (503 when no database is configured)."""
    if services.pool is None:
        raise HTTPException(503, NO_DATABASE)
    with services.pool.connection() as conn:
        yield conn


ConnDep = Annotated[Any, Depends(get_conn)]
