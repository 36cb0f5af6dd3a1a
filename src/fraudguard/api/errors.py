"""The one mapping from an exception to an HTTP answer, and the body-size guard.

:func:`status_for` and :func:`error_response` are used by the app's exception handlers
*and* by the ``POST /v1/score`` fast path, so an error gets the same status and detail
whichever of the two answers it (the fast path used to turn a validation error from
scoring into a 503 where the route gave 422):

* :class:`fastapi.HTTPException` -> its own status and detail (401, 403, 404, 409, 413, ...);
* :class:`fraudguard.errors.ValidationError` -> 422 in FastAPI's own shape
  (``[{"loc": [...], "msg": ..., "type": "value_error"}]``) so the field is named the same way
  whether pydantic or the stream's decoder refused it;
* database, broker or model unavailable (any other :class:`~fraudguard.errors.FraudGuardError`,
  or a pool timeout) -> 503 ``"<kind> unavailable"`` (the client may retry; it is not its fault);
* anything else is a bug: 500, left to the server's error middleware.

A body over ``api_max_body_bytes`` is 413, checked on ``Content-Length`` and while reading.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraudguard.errors import BrokerError, DatabaseError, FraudGuardError, ModelError, ValidationError

log = logging.getLogger(__name__)
TOO_LARGE = "request body too large"

try:
    from psycopg_pool import PoolTimeout

    _DATABASE: tuple[type[Exception], ...] = (DatabaseError, PoolTimeout)
except ImportError:  # pragma: no cover - psycopg is a core dependency
    _DATABASE = (DatabaseError,)

UNAVAILABLE: tuple[type[Exception], ...] = (FraudGuardError, *_DATABASE)
"""Exceptions meaning "a dependency is unavailable" (503), apart from :class:`ValidationError`."""
ANSWERED: tuple[type[Exception], ...] = (HTTPException, *UNAVAILABLE)
"""Every exception :func:`error_response` answers; anything else is a 500 (a bug)."""


def status_for(exc: BaseException) -> int:
    """The HTTP status the API answers ``exc`` with (see the module docstring for the table)."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, UNAVAILABLE):
        return 503
    return 500


def unavailable_kind(exc: BaseException) -> str:
    """``database``, ``broker``, ``model`` or ``service``: what the 503 detail names."""
    for kinds, name in ((_DATABASE, "database"), ((BrokerError,), "broker"), ((ModelError,), "model")):
        if isinstance(exc, kinds):
            return name
    return "service"


def error_response(exc: BaseException) -> JSONResponse:
    """The answer to one of the :data:`ANSWERED` exceptions: ``{"detail": ...}`` with :func:`status_for`."""
    status = status_for(exc)
    if isinstance(exc, HTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=status, headers=exc.headers)
    if isinstance(exc, ValidationError):
        return JSONResponse({"detail": validation_detail(exc.field, exc.reason)}, status_code=status)
    if status != 503:
        raise TypeError(f"not an error the API answers: {type(exc).__name__}") from exc
    kind = unavailable_kind(exc)
    log.warning("%s unavailable: %s", kind, exc)
    return JSONResponse({"detail": f"{kind} unavailable"}, status_code=status)


def validation_detail(field: str, reason: str, where: str = "body") -> list[dict[str, Any]]:
    loc: list[str | int] = [where]
    for part in field.split("."):
        if part and part != "$":
            loc.append(int(part) if part.isdigit() else part)
    return [{"loc": loc, "msg": reason, "type": "value_error"}]


def check_query_time(name: str, value: datetime | None) -> datetime | None:
    """A time filter PostgreSQL can take: with an offset, a real one (-12:00..+14:00), years 1..9999.

    Anything else is the client's mistake (422), never a database error (was a 503).
    """
    if value is None:
        return None
    off = value.utcoffset()
    if off is None:
        raise ValidationError(name, "must include a UTC offset (e.g. 2026-01-01T00:00:00Z)")
    if not (timedelta(hours=-12) <= off <= timedelta(hours=14)):
        raise ValidationError(name, "UTC offset must lie between -12:00 and +14:00")
    try:
        value.astimezone(UTC)
    except OverflowError as e:
        raise ValidationError(name, "out of range") from e
    return value


def _finite(value: Any) -> Any:
    """``value`` with NaN/Infinity (not JSON) as strings, recursively: an error must be encodable."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def install_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app`` (HTTPException keeps FastAPI's, which answers the same)."""

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input; NaN/Infinity made that a 500 (not JSON)
        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)

    async def _answer(request: Request, exc: Exception) -> JSONResponse:
        return error_response(exc)

    for kind in UNAVAILABLE:  # ValidationError is a FraudGuardError: 422 by the same mapping
        app.add_exception_handler(kind, _answer)


class BodyLimit:
    """ASGI middleware refusing bodies over ``max_bytes`` with 413 before the route sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await JSONResponse({"detail": TOO_LARGE}, status_code=413)(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await JSONResponse({"detail": TOO_LARGE}, status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass
