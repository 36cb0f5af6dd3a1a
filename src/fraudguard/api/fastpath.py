"""A lean ASGI path for the hot request, ``POST /v1/score``, in front of the FastAPI route.

Under 200 concurrent clients the framework cost more CPU than scoring a micro-batched
row: dependency resolution, the ``Query`` coercion and pydantic validation and
serialisation of the response model. This middleware answers the calls it can tell
apart without the framework — key allowed by :func:`~fraudguard.api.security.key_allowed`,
``record`` absent or a plain ``true``/``false``, a model loaded — with the route's own
pieces: :mod:`fraudguard.api.codec` decodes the body and encodes the answer, and
:func:`~fraudguard.api.errors.error_response` answers a refused body or a failed scoring
exactly as the app's handlers do. Everything else (missing or wrong key, odd query, no
model, a client gone mid-body) is handed to the FastAPI route with the body replayed, so
its status and detail are the route's and the OpenAPI document still describes the route.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraudguard.api.codec import decode_body, encode_response
from fraudguard.api.errors import ANSWERED, error_response
from fraudguard.api.security import Access, key_allowed, presented_key

PATH = "/v1/score"
_RECORD = {b"": True, b"record=true": True, b"record=false": False}
"""Query strings answered here; any other spelling goes to the route's ``Query`` parsing."""
_JSON = [(b"content-type", b"application/json")]


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
        if (
            record is None
            or services is None
            or services.batcher is None
            or not key_allowed(services.policy, presented_key(scope), Access.WRITE)
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        if more is not None:  # a disconnect mid-body: let the stack see exactly what happened
            await self.app(scope, _replay(body, more, receive), send)
            return
        try:
            txs, single = decode_body(body, services.settings.max_event_skew_s)
            preds = await services.batcher.submit(txs, record)
        except ANSWERED as e:  # 409, 413, 422, 503: the app's own mapping
            await error_response(e)(scope, receive, send)
            return
        payload = encode_response(preds, record, single)
        await send({"type": "http.response.start", "status": 200, "headers": _headers(payload)})
        await send({"type": "http.response.body", "body": payload})


def _headers(payload: bytes) -> list[tuple[bytes, bytes]]:
    return [*_JSON, (b"content-length", str(len(payload)).encode())]


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


def _replay(body: bytes, then: Message, receive: Receive) -> Receive:
    """A ``receive`` that yields the part of the body already read, ``then``, then the real ones."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": True}, then]

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
