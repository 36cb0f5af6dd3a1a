"""Look-ups the API and the dashboard make: one prediction, a card's history, alerts, labels.

Every function takes an open psycopg connection (from :func:`fraudguard.io.postgres.open_pool`
or :func:`~fraudguard.io.postgres.connect`), runs in its own transaction, returns plain dicts
(typed with ``TypedDict``) and raises :class:`DatabaseError` on driver failures and
:class:`ValidationError`, naming the argument, on bad input. Aggregates live in
:mod:`fraudguard.io.pg_analytics`; writing labels in :mod:`fraudguard.io.pg_labels`
(re-exported here).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypedDict

import psycopg
from psycopg.rows import dict_row

from fraudguard.errors import ValidationError
from fraudguard.io.pg_labels import record_label, record_labels
from fraudguard.io.postgres import db_errors
from fraudguard.schema import MAX_EVENT_TIME, MIN_EVENT_TIME, MODEL_NAMES

__all__ = [
    "MAX_PAGE",
    "PREDICTION_FIELDS",
    "CardHistory",
    "PredictionPage",
    "PredictionRecord",
    "card_history",
    "decode_cursor",
    "encode_cursor",
    "get_prediction",
    "list_alerts",
    "list_predictions",
    "read_tx",
    "record_label",
    "record_labels",
]

MAX_PAGE = 1000
_SCORE_COLS = tuple(f"score_{m}" for m in MODEL_NAMES)
PREDICTION_FIELDS = (
    "transaction_id, card_id, customer_id, event_time, amount, merchant_id, merchant_category, channel, "
    + ", ".join(_SCORE_COLS)
    + ", ensemble_score, threshold, decision, reasons, model_version, rule_ids, rule_action, shadow_rule_ids,"
    " is_fraud, fraud_scenario, produced_at, "
    "scored_at, label, label_source, labelled_at, inserted_at, updated_at"
)


class PredictionRecord(TypedDict):
    """A row of ``fraud_predictions``; ``scores`` repeats the ``score_*`` columns keyed by model."""

    transaction_id: str
    card_id: str
    customer_id: str | None
    event_time: datetime
    amount: float
    merchant_id: str
    merchant_category: str
    channel: str | None
    score_xgboost: float | None
    score_random_forest: float | None
    score_isolation_forest: float | None
    scores: dict[str, float | None]
    ensemble_score: float
    threshold: float
    decision: str
    reasons: list[str]
    model_version: str
    rule_ids: list[str]
    rule_action: str | None
    shadow_rule_ids: list[str]
    is_fraud: bool | None
    fraud_scenario: str | None
    produced_at: datetime | None
    scored_at: datetime | None
    label: bool | None
    label_source: str | None
    labelled_at: datetime | None
    inserted_at: datetime
    updated_at: datetime


class CardHistory(TypedDict):
    """What is known about one card: totals plus its latest transactions and alerts."""

    card_id: str
    transactions: int
    alerts: int
    amount_sum: float
    amount_avg: float
    max_score: float
    first_seen: datetime
    last_seen: datetime
    recent_transactions: list[PredictionRecord]
    recent_alerts: list[PredictionRecord]


class PredictionPage(TypedDict):
    """One page of predictions, newest first; pass ``next_cursor`` back for the next page."""

    items: list[PredictionRecord]
    next_cursor: str | None


@contextmanager
def read_tx(conn: psycopg.Connection[Any], what: str) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
    """A dict-row cursor inside a transaction, with driver errors wrapped as DatabaseError."""
    with db_errors(conn, what), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        yield cur


def _record(row: dict[str, Any]) -> PredictionRecord:
    row["scores"] = {m: row[f"score_{m}"] for m in MODEL_NAMES}
    return row  # type: ignore[return-value]


def _check_limit(limit: int, name: str = "limit") -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(name, f"must be between 1 and {MAX_PAGE}, got {limit}")


def get_prediction(conn: psycopg.Connection[Any], transaction_id: str) -> PredictionRecord | None:
    """The stored prediction for ``transaction_id``, or ``None`` when it was never scored."""
    with read_tx(conn, "reading a prediction") as cur:
        cur.execute(f"SELECT {PREDICTION_FIELDS} FROM fraud_predictions WHERE transaction_id = %s", (transaction_id,))  # type: ignore[arg-type]
        row = cur.fetchone()
    return None if row is None else _record(row)


def card_history(conn: psycopg.Connection[Any], card_id: str, *, recent: int = 20) -> CardHistory | None:
    """Totals and latest activity of a card (analyst view); ``None`` for an unknown card.

    The card index ``(card_id, event_time DESC)`` serves all three statements.
    """
    _check_limit(recent, "recent")
    with read_tx(conn, f"reading the history of card {card_id!r}") as cur:
        cur.execute(
            """SELECT count(*) AS transactions, count(*) FILTER (WHERE decision = 'fraud') AS alerts,
                      coalesce(sum(amount), 0) AS amount_sum, coalesce(avg(amount), 0) AS amount_avg,
                      max(ensemble_score) AS max_score, min(event_time) AS first_seen, max(event_time) AS last_seen
               FROM fraud_predictions WHERE card_id = %s""",
            (card_id,),
        )
        totals = cur.fetchone()
        if totals is None or totals["transactions"] == 0:
            return None
        base = f"SELECT {PREDICTION_FIELDS} FROM fraud_predictions WHERE card_id = %s"
        order = " ORDER BY event_time DESC, transaction_id DESC LIMIT %s"
        txs = [_record(r) for r in cur.execute(base + order, (card_id, recent)).fetchall()]  # type: ignore[operator]
        alerts = [
            _record(r) for r in cur.execute(base + " AND decision = 'fraud'" + order, (card_id, recent)).fetchall()
        ]  # type: ignore[operator]
    return CardHistory(card_id=card_id, recent_transactions=txs, recent_alerts=alerts, **totals)  # type: ignore[typeddict-item]


def encode_cursor(event_time: datetime, transaction_id: str) -> str:
    """Opaque keyset cursor: the sort key of the last row of a page."""
    raw = f"{event_time.isoformat()}|{transaction_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of :func:`encode_cursor`; a tampered or truncated cursor is a ValidationError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, tx = raw.split("|", 1)
        at = datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise ValidationError("cursor", "not a cursor returned by a previous page") from e
    # a cursor is the key of a stored row: anything else (NUL, year 1, offset +17:45) is
    # the client's mistake, and PostgreSQL would refuse it as a server error (was a 503)
    off = at.utcoffset()
    if (
        off is None
        or abs(off) > timedelta(hours=14)
        or not (MIN_EVENT_TIME <= at < MAX_EVENT_TIME)
        or "\x00" in tx
        or not 0 < len(tx) <= 128
    ):
        raise ValidationError("cursor", "not a cursor returned by a previous page")
    return at, tx


def list_predictions(
    conn: psycopg.Connection[Any],
    *,
    decision: str | None = "fraud",
    since: datetime | None = None,
    until: datetime | None = None,
    min_score: float | None = None,
    model_version: str | None = None,
    card_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> PredictionPage:
    """Predictions newest first (by ``event_time``), filtered, with keyset pagination.

    With the default ``decision="fraud"`` this is the alert list, served by the partial
    index on fraud decisions; ``decision=None`` lists every prediction. ``since`` is
    inclusive and ``until`` exclusive. Keyset pages stay correct while new rows arrive,
    unlike offsets.
    """
    _check_limit(limit)
    if decision is not None and decision not in ("fraud", "legit"):
        raise ValidationError("decision", f"must be 'fraud', 'legit' or None, got {decision!r}")
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise ValidationError("min_score", f"must be in [0, 1], got {min_score}")
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationError(name, "must be time-zone aware")
    where: list[str] = []
    params: list[Any] = []
    filters: tuple[tuple[str, object], ...] = (
        ("decision = %s", decision),
        ("event_time >= %s", since),
        ("event_time < %s", until),
        ("ensemble_score >= %s", min_score),
        ("model_version = %s", model_version),
        ("card_id = %s", card_id),
    )
    for clause, given in filters:
        if given is not None:
            where.append(clause)
            params.append(given)
    if cursor is not None:
        where.append("(event_time, transaction_id) < (%s, %s)")
        params.extend(decode_cursor(cursor))
    sql = f"SELECT {PREDICTION_FIELDS} FROM fraud_predictions"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY event_time DESC, transaction_id DESC LIMIT %s"
    params.append(limit + 1)
    with read_tx(conn, "listing predictions") as cur:
        rows = cur.execute(sql, params).fetchall()  # type: ignore[call-overload]
    items = [_record(r) for r in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor(items[-1]["event_time"], items[-1]["transaction_id"]) if more else None
    return PredictionPage(items=items, next_cursor=next_cursor)


def list_alerts(conn: psycopg.Connection[Any], **filters: Any) -> PredictionPage:
    """:func:`list_predictions` restricted to fraud decisions (same keyword filters)."""
    filters["decision"] = "fraud"
    return list_predictions(conn, **filters)
