"""Webhook endpoints and deliveries in PostgreSQL (the outbox's consumer side).

A delivery is claimed with ``FOR UPDATE SKIP LOCKED`` inside a transaction that stays open
while the HTTP request runs and records the outcome before committing. If the worker dies
mid-request, the transaction rolls back and the delivery is simply due again: delivery is
at-least-once, and the event's UUID (``Idempotency-Key``) lets the receiver drop a repeat.
Several workers can run at once; they never claim the same delivery.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row

from fraudguard.errors import ValidationError
from fraudguard.io.pg_outbox import EVENT_TYPES
from fraudguard.io.postgres import db_errors

ENDPOINT_COLUMNS = "id, url, events, format, active, created_at"
_CLAIM = """
SELECT d.event_id, d.endpoint_id, d.attempts, e.event_id AS key, e.type, e.payload, e.created_at,
       w.url, w.secret, w.format
FROM webhook_deliveries d
JOIN webhook_events e ON e.id = d.event_id
JOIN webhook_endpoints w ON w.id = d.endpoint_id
WHERE d.status = 'pending' AND d.next_attempt_at <= now()
ORDER BY d.next_attempt_at, d.event_id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED"""


def register(
    conn: psycopg.Connection[Any], url: str, events: list[str], fmt: str = "json", secret: str | None = None
) -> dict[str, Any]:
    """Store an endpoint; returns it with its secret (generated when not given; shown only here)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("url", "must be an http:// or https:// URL")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if not events or unknown:
        raise ValidationError("events", f"must be a non-empty subset of {', '.join(EVENT_TYPES)}")
    if fmt not in ("json", "slack"):
        raise ValidationError("format", "must be json or slack")
    secret = secret or "whsec_" + secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise ValidationError("secret", "must be at least 16 characters")
    with db_errors(conn, "registering a webhook"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"INSERT INTO webhook_endpoints (url, secret, events, format) VALUES (%s, %s, %s, %s) RETURNING {ENDPOINT_COLUMNS}",
            (url, secret, sorted(set(events)), fmt),
        ).fetchone()
    return {**row, "secret": secret}  # type: ignore[dict-item]


def endpoints(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every endpoint, without secrets."""
    with db_errors(conn, "listing webhooks"), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id").fetchall()


def deliveries(conn: psycopg.Connection[Any], status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Deliveries newest first (``status='dead'`` for the ones to look at), with event type and key."""
    if status is not None and status not in ("pending", "delivered", "dead"):
        raise ValidationError("status", "must be pending, delivered or dead")
    where = "WHERE d.status = %s" if status else ""
    params: tuple[Any, ...] = (status, limit) if status else (limit,)
    with db_errors(conn, "listing deliveries"), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT d.event_id, d.endpoint_id, e.event_id AS key, e.type, d.status, d.attempts, d.next_attempt_at,"
            f" d.last_error, d.last_status, d.delivered_at FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
            f" {where} ORDER BY d.event_id DESC, d.endpoint_id LIMIT %s",
            params,  # type: ignore[arg-type]
        ).fetchall()


def resend(conn: psycopg.Connection[Any], event_id: int, endpoint_id: int) -> bool:
    """Make a dead (or delivered) delivery due again, attempts reset; False when it does not exist."""
    with db_errors(conn, "re-sending a delivery"), conn.transaction():
        cur = conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL"
            " WHERE event_id = %s AND endpoint_id = %s",
            (event_id, endpoint_id),
        )
        return cur.rowcount == 1


def claim(cur: psycopg.Cursor[Any]) -> dict[str, Any] | None:
    """Lock the next due delivery (inside the caller's transaction) or return None."""
    return cur.execute(_CLAIM).fetchone()  # type: ignore[return-value]


def mark_delivered(cur: psycopg.Cursor[Any], d: dict[str, Any], status: int) -> None:
    cur.execute(
        "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = now(),"
        " last_status = %s, last_error = NULL WHERE event_id = %s AND endpoint_id = %s",
        (status, d["event_id"], d["endpoint_id"]),
    )


def mark_failed(
    cur: psycopg.Cursor[Any], d: dict[str, Any], error: str, status: int | None, delay_s: float, dead: bool
) -> None:
    cur.execute(
        "UPDATE webhook_deliveries SET status = %s, attempts = attempts + 1, last_error = %s, last_status = %s,"
        " next_attempt_at = now() + make_interval(secs => %s) WHERE event_id = %s AND endpoint_id = %s",
        ("dead" if dead else "pending", error[:500], status, delay_s, d["event_id"], d["endpoint_id"]),
    )
