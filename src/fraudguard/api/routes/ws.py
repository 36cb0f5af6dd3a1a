"""WebSockets: live predictions, alerts and metrics (fed from Kafka by the tracker thread)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fraudguard.api.services import Services

router = APIRouter()


async def _stream(ws: WebSocket, channel: str) -> None:
    services: Services = ws.app.state.services
    if services.settings.api_read_requires_key:
        key = ws.headers.get("x-api-key") or ws.query_params.get("api_key")
        if not key or not services.keys.accepts(key):
            await ws.close(code=1008, reason="missing API key" if not key else "invalid API key")
            return
    await ws.accept()
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
