"""The webhook outbox: events written in the same transaction as the change they announce.

:func:`enqueue` is called with the cursor of the transaction that changes a case or a rule
(or stores an alert). It inserts the event once (``webhook_events``, with a UUID that is
the receivers' idempotency key) and one pending delivery per endpoint subscribed to the
event type (``webhook_deliveries``). Either the change and its deliveries commit together
or neither does: no event is announced for a change that rolled back, and none is lost
because a process died between the change and the send. The delivery worker
(:mod:`fraudguard.webhooks.worker`) only reads and updates ``webhook_deliveries``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

EVENT_TYPES: tuple[str, ...] = ("alert.created", "case.resolved", "rule.changed")

OUTBOX_DDL = """
CREATE TABLE webhook_endpoints (
    id bigserial PRIMARY KEY,
    url text NOT NULL,
    secret text NOT NULL,
    events text[] NOT NULL,
    format text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE webhook_events (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE webhook_deliveries (
    event_id bigint NOT NULL REFERENCES webhook_events (id),
    endpoint_id bigint NOT NULL REFERENCES webhook_endpoints (id),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    last_status integer,
    delivered_at timestamptz,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
"""

TABLES: tuple[str, ...] = ("webhook_deliveries", "webhook_events", "webhook_endpoints")


def enqueue(cur: psycopg.Cursor[Any], event_type: str, payload: dict[str, Any]) -> int:
    """Record one event and a pending delivery per subscribed endpoint; returns the deliveries queued.

    Must run inside the caller's transaction (it does not commit).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    cur.execute(
        "WITH e AS (INSERT INTO webhook_events (type, payload) VALUES (%s, %s) RETURNING id)"
        " INSERT INTO webhook_deliveries (event_id, endpoint_id)"
        " SELECT e.id, w.id FROM e, webhook_endpoints w WHERE w.active AND %s = ANY (w.events)",
        (event_type, Jsonb(payload), event_type),
    )
    return cur.rowcount
