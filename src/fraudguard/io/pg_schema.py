"""Tables of the PostgreSQL store and the numbered migrations that create them.

Every process that writes or reads calls :func:`migrate` at start. Migrations run in order,
each recorded in ``schema_migrations``, all inside one transaction holding an advisory lock
keyed on the current schema: ten workers starting together apply each migration exactly
once, the others wait for the lock and then find nothing to do. A migration is never
edited once released; a change is a new, higher-numbered entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from fraudguard.io import pg_cases, pg_lifecycle, pg_outbox, pg_rules
from fraudguard.io.postgres import db_errors
from fraudguard.schema import MODEL_NAMES


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` orders them, ``sql`` may hold several statements."""

    version: int
    name: str
    sql: str


_SCORES = ",\n    ".join(f"score_{m} double precision" for m in MODEL_NAMES)

DROP_DECISION_TIME_INDEX = "DROP INDEX IF EXISTS fraud_predictions_decision_time_idx"
"""Every prediction row paid for an index no query needs: fraud decisions are listed through
the partial ``fraud_predictions_alerts_idx``, legitimate ones (nearly every row) by a
backward scan of ``fraud_predictions_event_time_idx`` that filters (same plan shape and
time, measured on 200,000 rows). Without it, moving a 5,000-row batch into the table costs
~18% less server time (``docs/performance.md``, eleventh session)."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "fraud_predictions",
        f"""
CREATE TABLE fraud_predictions (
    transaction_id text PRIMARY KEY,
    card_id text NOT NULL,
    customer_id text,
    event_time timestamptz NOT NULL,
    amount double precision NOT NULL,
    merchant_id text NOT NULL,
    merchant_category text NOT NULL,
    channel text,
    {_SCORES},
    ensemble_score double precision NOT NULL,
    threshold double precision NOT NULL,
    decision text NOT NULL CHECK (decision IN ('fraud', 'legit')),
    reasons text[] NOT NULL DEFAULT '{{}}',
    model_version text NOT NULL,
    is_fraud boolean,
    fraud_scenario text,
    produced_at timestamptz,
    scored_at timestamptz,
    label boolean,
    label_source text,
    labelled_at timestamptz,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN fraud_predictions.is_fraud IS 'ground truth carried by the transaction itself (synthetic data), NULL when unknown';
COMMENT ON COLUMN fraud_predictions.label IS 'late feedback (chargeback, analyst); wins over is_fraud';
CREATE INDEX fraud_predictions_card_time_idx ON fraud_predictions (card_id, event_time DESC);
CREATE INDEX fraud_predictions_event_time_idx ON fraud_predictions (event_time);
CREATE INDEX fraud_predictions_decision_time_idx ON fraud_predictions (decision, event_time DESC);
CREATE INDEX fraud_predictions_alerts_idx ON fraud_predictions (event_time DESC, transaction_id DESC)
    WHERE decision = 'fraud';
""",
    ),
    Migration(
        2,
        "labels",
        """
CREATE TABLE labels (
    transaction_id text PRIMARY KEY,
    is_fraud boolean NOT NULL,
    source text NOT NULL,
    labelled_at timestamptz NOT NULL DEFAULT now(),
    received_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE labels IS 'latest label per transaction; may arrive before the prediction row exists';
""",
    ),
    Migration(
        3,
        "model_version_index",
        "CREATE INDEX fraud_predictions_model_time_idx ON fraud_predictions (model_version, event_time);",
    ),
    Migration(20, "prediction_rule_columns", pg_rules.PREDICTION_RULE_COLUMNS_DDL),
    Migration(21, "rules", pg_rules.RULES_DDL),
    Migration(22, "webhook_outbox", pg_outbox.OUTBOX_DDL),
    Migration(23, "cases", pg_cases.CASES_DDL),
    Migration(30, "fraud_challenger_scores", pg_lifecycle.CHALLENGER_SCORES_DDL),
    Migration(31, "drop_decision_time_index", DROP_DECISION_TIME_INDEX),
)

TABLES: tuple[str, ...] = (
    "fraud_predictions",
    "labels",
    "fraud_challenger_scores",
    *pg_cases.TABLES,
    *pg_outbox.TABLES,
    *pg_rules.TABLES,
)
"""Data tables (not ``schema_migrations``), in an order safe to truncate together."""

_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('fraudguard.schema_migrations'), hashtext(current_schema()))"
_BOOKKEEPING_SQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def applied_versions(conn: psycopg.Connection[Any]) -> list[int]:
    """Migration versions recorded in the current schema (empty when never migrated)."""
    with db_errors(conn, "reading schema_migrations"), conn.transaction():
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(conn: psycopg.Connection[Any], migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations not yet recorded, in version order; return those applied now.

    Safe to call from many processes at once (advisory lock) and any number of times. A
    failing migration rolls back every step of this call and raises :class:`DatabaseError`.
    """
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"migration versions must be unique and increasing, got {versions}")
    applied_now: list[int] = []
    with db_errors(conn, "migrating the schema"), conn.transaction():
        conn.execute(_LOCK_SQL)
        conn.execute(_BOOKKEEPING_SQL)
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for m in migrations:
            if m.version in done:
                continue
            conn.execute(m.sql)  # type: ignore[arg-type]  # trusted constant DDL
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name))
            applied_now.append(m.version)
    return applied_now
