"""The analyst case queue in PostgreSQL: cases opened from alerts, their transitions and audit.

Every alert opens a case or joins one: alerts on the same card within 24 hours of a case's
first alert go to that case while it is still ``open`` or ``in_review``, so an analyst
sees a card's burst once. States: ``open -> in_review -> confirmed_fraud | legitimate``
(resolving an ``open`` case reviews and resolves it in one step); resolved cases are
final. Each change appends to ``case_events`` (who, what, when) in the transaction that
makes it, together with its webhook outbox event (:mod:`fraudguard.io.pg_outbox`), and a
resolution writes a label for every transaction of the case in that same transaction.

:func:`open_cases` is run by a poller (the API's case worker): it takes alerts that no
case holds yet, in event-time order, under an advisory lock so two pollers never
interleave, and is idempotent (``case_alerts`` is keyed by transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from fraudguard.errors import ValidationError
from fraudguard.io import pg_outbox
from fraudguard.io.pg_queries import record_labels
from fraudguard.io.postgres import db_errors
from fraudguard.schema import Label

CASES_DDL = """
CREATE TABLE cases (
    id bigserial PRIMARY KEY,
    card_id text NOT NULL,
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'in_review', 'confirmed_fraud', 'legitimate')),
    assignee text,
    first_event_time timestamptz NOT NULL,
    last_event_time timestamptz NOT NULL,
    alerts integer NOT NULL DEFAULT 0,
    max_score double precision NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX cases_open_card_idx ON cases (card_id, first_event_time) WHERE status IN ('open', 'in_review');
CREATE INDEX cases_status_idx ON cases (status, id DESC);
CREATE TABLE case_alerts (
    transaction_id text PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    event_time timestamptz NOT NULL,
    amount double precision NOT NULL,
    ensemble_score double precision NOT NULL,
    reasons text[] NOT NULL DEFAULT '{}',
    rule_ids text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX case_alerts_case_idx ON case_alerts (case_id);
CREATE TABLE case_events (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    actor text NOT NULL,
    kind text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);
"""

TABLES: tuple[str, ...] = ("case_events", "case_alerts", "cases")
STATUSES: tuple[str, ...] = ("open", "in_review", "confirmed_fraud", "legitimate")
OUTCOMES: tuple[str, ...] = ("confirmed_fraud", "legitimate")
GROUP_WINDOW = "24 hours"
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('fraudguard.open_cases'), hashtext(current_schema()))"
_NEW_ALERTS = """
SELECT p.transaction_id, p.card_id, p.event_time, p.amount, p.ensemble_score, p.reasons, p.rule_ids
FROM fraud_predictions p
WHERE p.decision = 'fraud' AND NOT EXISTS (SELECT 1 FROM case_alerts a WHERE a.transaction_id = p.transaction_id)
ORDER BY p.event_time, p.transaction_id
LIMIT %s"""
CASE_COLUMNS = (
    "id, card_id, status, assignee, first_event_time, last_event_time, alerts, max_score, created_at, updated_at,"
    " resolved_at"
)


class CaseNotFound(ValidationError):
    def __init__(self, case_id: int) -> None:
        super().__init__("id", f"case not found: {case_id}")


class CaseConflict(ValidationError):
    """The transition is not allowed from the case's current state (the API answers 409)."""


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _event(cur: psycopg.Cursor[Any], case_id: int, actor: str, kind: str, detail: dict[str, Any]) -> None:
    cur.execute(
        "INSERT INTO case_events (case_id, actor, kind, detail) VALUES (%s, %s, %s, %s)",
        (case_id, actor, kind, Jsonb(detail)),
    )


def open_cases(conn: psycopg.Connection[Any], limit: int = 1000) -> list[int]:
    """Give the next ``limit`` alerts without a case one (new or grouped); returns touched case ids.

    Each alert also queues an ``alert.created`` webhook event, in the same transaction.
    Returns ``[]`` at once when another poller holds the lock.
    """
    touched: list[int] = []
    with db_errors(conn, "opening cases"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        if not cur.execute(_LOCK).fetchone()["pg_try_advisory_xact_lock"]:  # type: ignore[index]
            return []
        alerts = cur.execute(_NEW_ALERTS, (limit,)).fetchall()
        for a in alerts:
            cur.execute(
                f"SELECT id FROM cases WHERE card_id = %s AND status IN ('open', 'in_review')"
                f" AND %s BETWEEN first_event_time AND first_event_time + interval '{GROUP_WINDOW}'"
                " ORDER BY first_event_time DESC LIMIT 1",
                (a["card_id"], a["event_time"]),
            )
            found = cur.fetchone()
            if found is None:
                cur.execute(
                    "INSERT INTO cases (card_id, first_event_time, last_event_time) VALUES (%s, %s, %s) RETURNING id",
                    (a["card_id"], a["event_time"], a["event_time"]),
                )
                case_id = cur.fetchone()["id"]  # type: ignore[index]
                _event(cur, case_id, "system", "opened", {"transaction_id": a["transaction_id"]})
            else:
                case_id = found["id"]
                _event(cur, case_id, "system", "alert_added", {"transaction_id": a["transaction_id"]})
            cur.execute(
                "INSERT INTO case_alerts (transaction_id, case_id, event_time, amount, ensemble_score, reasons, rule_ids)"
                " VALUES (%(transaction_id)s, %(case_id)s, %(event_time)s, %(amount)s, %(ensemble_score)s,"
                " %(reasons)s, %(rule_ids)s)",
                {**a, "case_id": case_id},
            )
            cur.execute(
                "UPDATE cases SET alerts = alerts + 1, last_event_time = greatest(last_event_time, %s),"
                " max_score = greatest(max_score, %s), updated_at = now() WHERE id = %s",
                (a["event_time"], a["ensemble_score"], case_id),
            )
            pg_outbox.enqueue(cur, "alert.created", {"case_id": case_id, "alert": _json(a)})
            if case_id not in touched:
                touched.append(case_id)
    return touched


def _locked(cur: psycopg.Cursor[Any], case_id: int) -> dict[str, Any]:
    row = cur.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = %s FOR UPDATE", (case_id,)).fetchone()
    if row is None:
        raise CaseNotFound(case_id)
    return row  # type: ignore[no-any-return]


def _final(row: dict[str, Any]) -> None:
    if row["status"] in OUTCOMES:
        raise CaseConflict("status", f"case {row['id']} is resolved ({row['status']}) and cannot change")


def assign(conn: psycopg.Connection[Any], case_id: int, assignee: str, actor: str) -> dict[str, Any]:
    """Give the case to ``assignee``; an ``open`` case moves to ``in_review``."""
    if not assignee.strip() or len(assignee) > 120:
        raise ValidationError("assignee", "must be 1 to 120 characters")
    with db_errors(conn, "assigning a case"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = _locked(cur, case_id)
        _final(row)
        new = cur.execute(
            f"UPDATE cases SET assignee = %s, status = 'in_review', updated_at = now() WHERE id = %s"
            f" RETURNING {CASE_COLUMNS}",
            (assignee, case_id),
        ).fetchone()
        _event(
            cur,
            case_id,
            actor,
            "assigned",
            {"from": row["assignee"], "to": assignee, "status": [row["status"], "in_review"]},
        )
    return new  # type: ignore[return-value]


def add_note(conn: psycopg.Connection[Any], case_id: int, text: str, actor: str) -> dict[str, Any]:
    """Append a note (allowed in every state, resolved included)."""
    if not text.strip() or len(text) > 4000:
        raise ValidationError("text", "must be 1 to 4000 characters")
    with db_errors(conn, "adding a note"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = _locked(cur, case_id)
        _event(cur, case_id, actor, "note", {"text": text})
        cur.execute("UPDATE cases SET updated_at = now() WHERE id = %s", (case_id,))
    return row


def resolve(
    conn: psycopg.Connection[Any], case_id: int, outcome: str, actor: str, note: str | None = None
) -> tuple[dict[str, Any], list[Label]]:
    """Close the case and label every transaction in it, in one transaction with its outbox event.

    Returns the case and the labels written, for the caller to publish on the labels topic.
    """
    if outcome not in OUTCOMES:
        raise ValidationError("outcome", f"must be one of {', '.join(OUTCOMES)}")
    with db_errors(conn, "resolving a case"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = _locked(cur, case_id)
        _final(row)
        new = cur.execute(
            f"UPDATE cases SET status = %s, resolved_at = now(), updated_at = now() WHERE id = %s RETURNING {CASE_COLUMNS}",
            (outcome, case_id),
        ).fetchone()
        ids = [
            r["transaction_id"]
            for r in cur.execute(
                "SELECT transaction_id FROM case_alerts WHERE case_id = %s ORDER BY transaction_id", (case_id,)
            )
        ]
        labels = [Label(transaction_id=t, is_fraud=outcome == "confirmed_fraud", source="case") for t in ids]
        record_labels(conn, labels)
        if note:
            _event(cur, case_id, actor, "note", {"text": note})
        _event(cur, case_id, actor, "resolved", {"status": [row["status"], outcome], "labels": len(labels)})
        pg_outbox.enqueue(cur, "case.resolved", {"case": _json(new), "transactions": ids, "actor": actor})  # type: ignore[arg-type]
    return new, labels  # type: ignore[return-value]


def list_cases(
    conn: psycopg.Connection[Any],
    *,
    status: str | None = None,
    assignee: str | None = None,
    card_id: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Cases newest first, filtered; keyset pagination on ``id`` (``before_id`` = last id seen)."""
    if status is not None and status not in STATUSES:
        raise ValidationError("status", f"must be one of {', '.join(STATUSES)}")
    where: list[str] = []
    params: list[Any] = []
    for col, value in (("status", status), ("assignee", assignee), ("card_id", card_id)):
        if value is not None:
            where.append(f"{col} = %s")
            params.append(value)
    if before_id is not None:
        where.append("id < %s")
        params.append(before_id)
    sql = (
        f"SELECT {CASE_COLUMNS} FROM cases {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id DESC LIMIT %s"
    )
    with db_errors(conn, "listing cases"), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, (*params, limit)).fetchall()  # type: ignore[arg-type]


def case_detail(conn: psycopg.Connection[Any], case_id: int) -> dict[str, Any]:
    """The case, its alerts (with reasons and rules) and its audit trail."""
    with db_errors(conn, "reading a case"), conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = %s", (case_id,)).fetchone()
        if row is None:
            raise CaseNotFound(case_id)
        alerts = cur.execute("SELECT * FROM case_alerts WHERE case_id = %s ORDER BY event_time", (case_id,)).fetchall()
        events = cur.execute(
            "SELECT id, actor, kind, detail, at FROM case_events WHERE case_id = %s ORDER BY id", (case_id,)
        ).fetchall()
    return {**row, "alert_list": alerts, "events": events}
