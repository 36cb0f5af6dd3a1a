"""WebSockets: live predictions, alerts and metrics (fed from Kafka by the tracker thread).

Authentication never uses the query string (URLs end up in access logs and browser
history). A browser cannot set headers on a WebSocket, so it offers two subprotocols:
``fraudguard`` and ``fg-key.<base64url of the key>``; the server picks ``fraudguard``
(never echoing the key). Other clients may send the ``X-API-Key`` header instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fraudguard.api.services import Services

router = APIRouter()
PROTOCOL = "fraudguard"
KEY_PROTOCOL_PREFIX = "fg-key."


def key_protocols(key: str) -> list[str]:
    """The subprotocols a client offers to authenticate with ``key`` (what the dashboard sends)."""
    token = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    return [PROTOCOL, KEY_PROTOCOL_PREFIX + token]


def _offered(ws: WebSocket) -> list[str]:
    raw = ws.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _protocol_key(offered: list[str]) -> str | None:
    for p in offered:
        if p.startswith(KEY_PROTOCOL_PREFIX):
            token = p[len(KEY_PROTOCOL_PREFIX) :]
            try:
                return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return ""
    return None


async def _stream(ws: WebSocket, channel: str) -> None:
    services: Services = ws.app.state.services
    offered = _offered(ws)
    if services.settings.api_read_requires_key:
        key = ws.headers.get("x-api-key") or _protocol_key(offered)
        if not key or not services.keys.accepts(key):
            await ws.close(code=1008, reason="missing API key" if not key else "invalid API key")
            return
    await ws.accept(subprotocol=PROTOCOL if PROTOCOL in offered else None)
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
