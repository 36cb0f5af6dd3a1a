"""Late ground truth into PostgreSQL: the ``labels`` table and the labelled prediction rows.

Split out of :mod:`fraudguard.io.pg_queries` (which re-exports :func:`record_labels` and
:func:`record_label`): the look-ups there only read, this module is the one that writes
labels. Driver failures raise :class:`DatabaseError`; bad labels a
:class:`ValidationError` naming the list index and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from fraudguard.errors import ValidationError
from fraudguard.io.postgres import db_errors
from fraudguard.schema import Label


def _newer_or_equal(a: Label, b: Label) -> bool:
    """Label order: a missing ``labelled_at`` means "now", newer than any given time."""
    if a.labelled_at is None:
        return True
    return b.labelled_at is not None and a.labelled_at >= b.labelled_at


def record_labels(conn: psycopg.Connection[Any], labels: Sequence[Label]) -> int:
    """Store late ground truth; return how many stored predictions it updated.

    Labels go to ``labels`` whether or not the prediction exists yet (the sink copies
    them into the prediction row when it arrives). For one transaction the label with the
    latest ``labelled_at`` wins, so replaying an older feedback message changes nothing.
    """
    if not labels:
        return 0
    for i, lab in enumerate(labels):
        if not lab.transaction_id:
            raise ValidationError(f"labels[{i}].transaction_id", "must be non-empty")
        if not lab.source or len(lab.source) > 64:
            raise ValidationError(f"labels[{i}].source", "must be 1 to 64 characters")
        if lab.labelled_at is not None and lab.labelled_at.tzinfo is None:
            raise ValidationError(f"labels[{i}].labelled_at", "must be time-zone aware")
    latest: dict[str, Label] = {}
    for lab in labels:  # one row per transaction: a statement cannot upsert a key twice
        prev = latest.get(lab.transaction_id)
        if prev is None or _newer_or_equal(lab, prev):
            latest[lab.transaction_id] = lab
    ids = list(latest)
    values = (
        ids,
        [latest[t].is_fraud for t in ids],
        [latest[t].source for t in ids],
        [latest[t].labelled_at for t in ids],
    )
    with db_errors(conn, f"recording {len(ids)} label(s)"), conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """INSERT INTO labels (transaction_id, is_fraud, source, labelled_at)
               SELECT t, f, s, coalesce(a, now())
               FROM unnest(%s::text[], %s::boolean[], %s::text[], %s::timestamptz[]) AS u(t, f, s, a)
               ON CONFLICT (transaction_id) DO UPDATE
                   SET is_fraud = EXCLUDED.is_fraud, source = EXCLUDED.source,
                       labelled_at = EXCLUDED.labelled_at, received_at = now()
                   WHERE labels.labelled_at <= EXCLUDED.labelled_at""",
            values,
        )
        cur.execute(
            """UPDATE fraud_predictions p
               SET label = l.is_fraud, label_source = l.source, labelled_at = l.labelled_at, updated_at = now()
               FROM labels l
               WHERE l.transaction_id = ANY(%s) AND p.transaction_id = l.transaction_id""",
            (ids,),
        )
        return cur.rowcount


def record_label(
    conn: psycopg.Connection[Any],
    transaction_id: str,
    is_fraud: bool,
    *,
    source: str = "analyst",
    labelled_at: datetime | None = None,
) -> bool:
    """Store one label; ``True`` when the prediction exists (and now carries it)."""
    label = Label(transaction_id=transaction_id, is_fraud=is_fraud, source=source, labelled_at=labelled_at)
    return record_labels(conn, [label]) == 1
