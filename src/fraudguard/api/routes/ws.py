"""WebSockets: live predictions, alerts and metrics (fed from Kafka by the tracker thread).

Every stream is a read: :func:`~fraudguard.api.security.key_allowed` decides, with the key
:func:`~fraudguard.api.security.presented_key` finds (``X-API-Key`` header, or from a
browser the ``fg-key.`` subprotocol; never the query string). A refusal closes with 1008
and says why; an accepted browser gets the ``fraudguard`` subprotocol, never its key echoed.
"""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fraudguard.api.security import PROTOCOL, Access, key_allowed, offered_protocols, presented_key
from fraudguard.api.services import Services

router = APIRouter()


async def _stream(ws: WebSocket, channel: str) -> None:
    services: Services = ws.app.state.services
    verdict = key_allowed(services.policy, presented_key(ws.scope), Access.READ)
    if not verdict:
        await ws.close(code=1008, reason=verdict.value)
        return
    await ws.accept(subprotocol=PROTOCOL if PROTOCOL in offered_protocols(ws.scope) else None)
    q = services.hub.subscribe(channel)
    try:
        if channel == "metrics":
            import orjson

            await ws.send_text(orjson.dumps(services.snapshot(), option=orjson.OPT_NON_STR_KEYS).decode())
        while True:
            await ws.send_text(await q.get())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        services.hub.unsubscribe(channel, q)
        with contextlib.suppress(RuntimeError):
            await ws.close()


@router.websocket("/ws/transactions")
async def ws_transactions(ws: WebSocket) -> None:
    """Every prediction as it is published (JSON, the ``predictions`` topic's format)."""
    await _stream(ws, "transactions")


@router.websocket("/ws/alerts")
async def ws_alerts(ws: WebSocket) -> None:
    """Every fraud alert as it is published."""
    await _stream(ws, "alerts")


@router.websocket("/ws/metrics")
async def ws_metrics(ws: WebSocket) -> None:
    """The metrics snapshot at once, then every refresh (about once a second)."""
    await _stream(ws, "metrics")


@router.websocket("/ws/cases")
async def ws_cases(ws: WebSocket) -> None:
    """Every case opened, grouped, assigned, noted or resolved (``{"type": "case", "case": {...}}``)."""
    await _stream(ws, "cases")
