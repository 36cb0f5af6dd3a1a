"""Migrations against a real PostgreSQL: ordered, recorded, idempotent, safe when concurrent."""

from __future__ import annotations

import threading

import psycopg
import pytest

from fraudguard.errors import DatabaseError
from fraudguard.io.pg_schema import MIGRATIONS, Migration, applied_versions, migrate
from fraudguard.io.postgres import connect

pytestmark = pytest.mark.integration

ALL = [m.version for m in MIGRATIONS]


def test_fresh_schema_gets_every_migration_once_then_nothing(pg_schema_url: str) -> None:
    with connect(pg_schema_url) as conn:
        assert applied_versions(conn) == []
        assert migrate(conn) == ALL
        assert migrate(conn) == []
        assert applied_versions(conn) == ALL
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    assert {"fraud_predictions", "labels", "schema_migrations"} <= tables
    assert {
        "fraud_predictions_card_time_idx",
        "fraud_predictions_event_time_idx",
        "fraud_predictions_alerts_idx",
    } <= indexes
    assert "fraud_predictions_decision_time_idx" not in indexes  # dropped by migration 31: redundant


def test_partial_alert_index_covers_only_fraud(pg_schema_url: str) -> None:
    with connect(pg_schema_url) as conn:
        migrate(conn)
        (definition,) = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'fraud_predictions_alerts_idx'"
            " AND schemaname = current_schema()"
        ).fetchone() or ("",)
    assert "WHERE (decision = 'fraud'::text)" in definition


def test_concurrent_workers_apply_each_migration_exactly_once(pg_schema_url: str) -> None:
    workers = 6
    barrier = threading.Barrier(workers)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connect(pg_schema_url) as conn:
                barrier.wait(timeout=10)
                results.append(migrate(conn))
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    applied = sorted(v for r in results for v in r)
    assert applied == ALL
    with connect(pg_schema_url) as conn:
        rows = conn.execute("SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY 1").fetchall()
    assert rows == [(v, 1) for v in ALL]


def test_a_later_migration_is_applied_on_top_of_existing_ones(pg_schema_url: str) -> None:
    extra = Migration(ALL[-1] + 1, "test_column", "ALTER TABLE labels ADD COLUMN note text")
    with connect(pg_schema_url) as conn:
        migrate(conn)
        assert migrate(conn, (*MIGRATIONS, extra)) == [extra.version]
        cols = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'labels'"
                " AND table_schema = current_schema()"
            )
        }
    assert "note" in cols


def test_a_failing_migration_rolls_back_everything_of_that_run(pg_schema_url: str) -> None:
    broken = Migration(ALL[-1] + 1, "broken", "ALTER TABLE no_such_table ADD COLUMN x int")
    with connect(pg_schema_url) as conn:
        with pytest.raises(DatabaseError, match="migrating the schema") as info:
            migrate(conn, (*MIGRATIONS, broken))
        assert isinstance(info.value.__cause__, psycopg.Error)
        assert applied_versions(conn) == []
        assert migrate(conn) == ALL


def test_versions_out_of_order_are_refused(pg_schema_url: str) -> None:
    with connect(pg_schema_url) as conn, pytest.raises(ValueError, match="increasing"):
        migrate(conn, (MIGRATIONS[1], MIGRATIONS[0]))
