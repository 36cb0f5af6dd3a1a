"""Exception handlers and the body-size guard: every failure gets a status and a stable detail.

* :class:`fraudguard.errors.ValidationError` -> 422 in FastAPI's own shape
  (``[{"loc": [...], "msg": ..., "type": "value_error"}]``) so the field is named the same way
  whether pydantic or the stream's decoder refused it;
* database, broker or model unavailable -> 503 (the client may retry; it is not its fault);
* a body over ``api_max_body_bytes`` -> 413, checked on ``Content-Length`` and while reading.
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraudguard.errors import BrokerError, DatabaseError, FraudGuardError, ModelError, ValidationError

log = logging.getLogger(__name__)
TOO_LARGE = "request body too large"


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
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input; NaN/Infinity made that a 500 (not JSON)
        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(ValidationError)
    async def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc.field, exc.reason)}, status_code=422)

    @app.exception_handler(FraudGuardError)
    async def _unavailable(request: Request, exc: FraudGuardError) -> JSONResponse:
        kind = {DatabaseError: "database", BrokerError: "broker", ModelError: "model"}.get(type(exc), "service")
        log.warning("%s unavailable: %s", kind, exc)
        return JSONResponse({"detail": f"{kind} unavailable"}, status_code=503)

    try:
        from psycopg_pool import PoolTimeout

        @app.exception_handler(PoolTimeout)
        async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
            return JSONResponse({"detail": "database unavailable"}, status_code=503)
    except ImportError:  # pragma: no cover
        pass


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
