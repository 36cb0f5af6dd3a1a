"""A lean ASGI path for the hot request, ``POST /v1/score``, in front of the FastAPI route.

Under 200 concurrent clients the framework cost more CPU than scoring a micro-batched
row: dependency resolution and the ``Query`` coercion (and, until the route encoded its
answer with msgspec as well, pydantic's validation and serialisation of a response model). This middleware answers the *successful* calls
itself — key accepted, ``record`` absent or a plain ``true``/``false``, body decoded and
checked by the same :func:`~fraudguard.api.routes.score.decode_body` — with the same JSON
as the route (:class:`~fraudguard.records.ScoreResult`, encoded once by msgspec). Everything else
(missing or wrong key, odd query, invalid body, no model) is handed to the FastAPI route
with the body replayed, so every error keeps exactly the route's status and detail, and
the OpenAPI document still describes the route.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraudguard.api.idempotency import StoredPrediction
from fraudguard.errors import BrokerError, DatabaseError, FraudGuardError, ModelError
from fraudguard.records import Prediction, ScoreBatch, ScoreResult

log = logging.getLogger(__name__)

PATH = "/v1/score"
_RECORD = {b"": True, b"record=true": True, b"record=false": False}
"""Query strings answered here; any other spelling goes to the route's ``Query`` parsing."""
_JSON = [(b"content-type", b"application/json")]


_encode = msgspec.json.Encoder().encode


def encode_predictions(preds: list[Prediction], recorded: bool, single: bool) -> bytes:
    """The response body of ``POST /v1/score`` for ``preds`` (one object or ``{"predictions": [...]}``)."""
    out = [
        ScoreResult(
            p.transaction_id,
            p.card_id,
            p.scores,
            p.ensemble_score,
            p.threshold,
            p.decision,
            p.reasons,
            p.model_version,
            recorded and not isinstance(p, StoredPrediction),
            isinstance(p, StoredPrediction),
            p.rule_ids,
            p.rule_action,  # type: ignore[arg-type]  # rules.RuleSet only sets allow, review or block
        )
        for p in preds
    ]
    return _encode(out[0] if single else ScoreBatch(out))


class ScoreFastPath:
    """ASGI middleware answering accepted ``POST /v1/score`` calls without the framework.

    Parameters
    ----------
    app
        The FastAPI stack below (it gets every request this does not answer).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        record = _RECORD.get(scope.get("query_string", b""))
        services = getattr(scope["app"].state, "services", None)
        if record is None or services is None or services.batcher is None or not _key_ok(services, scope):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        if more is not None:  # a disconnect mid-body: let the stack see exactly what happened
            await self.app(scope, _replay(body, more, receive), send)
            return
        from fraudguard.api.routes.score import decode_body

        try:
            txs, single = decode_body(body, services.settings.max_event_skew_s)
        except Exception:
            await self.app(scope, _replay(body, None, receive), send)
            return
        try:
            preds = await services.batcher.submit(txs, record)
        except HTTPException as e:  # 409: an id recorded before with other content
            await _respond(send, e.status_code, _encode({"detail": e.detail}))
            return
        except FraudGuardError as e:  # the same answer as the app's handler
            kind = {DatabaseError: "database", BrokerError: "broker", ModelError: "model"}.get(type(e), "service")
            log.warning("%s unavailable: %s", kind, e)
            await _respond(send, 503, _encode({"detail": f"{kind} unavailable"}))
            return
        await _respond(send, 200, encode_predictions(preds, record, single))


def _key_ok(services: Any, scope: Scope) -> bool:
    """True when :func:`fraudguard.api.deps.check_key` would let the call through."""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return bool(value) and bool(services.keys.accepts(value.decode("latin-1")))
    return False


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, or what came before a non-body message (returned for replay)."""
    chunks: list[bytes] = []
    while True:
        msg = await receive()
        if msg["type"] != "http.request":
            return b"".join(chunks), msg
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body", False):
            return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), None


def _replay(body: bytes, then: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body first, then continues with the real one."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if then is not None:
        pending = [{"type": "http.request", "body": body, "more_body": True}, then]

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
