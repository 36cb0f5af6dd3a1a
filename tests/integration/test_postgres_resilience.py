"""When PostgreSQL goes away: DatabaseError after rollback, reconnect on the next call."""

from __future__ import annotations

import psycopg
import pytest

from fraudguard.errors import DatabaseError
from fraudguard.io.postgres import connect, open_pool
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.postgres import PostgresSink
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration

DEAD_URL = "postgresql://postgres@127.0.0.1:1/nothing"  # port 1: nothing listens, refused at once


def kill_backends(url: str, application_name: str) -> int:
    """Terminate, from another connection, every backend of ``application_name`` (a crash as the sink sees it)."""
    with connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database() AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def stored(url: str) -> int:
    with connect(url) as conn:
        return int((conn.execute("SELECT count(*) FROM fraud_predictions").fetchone() or (0,))[0])


def test_terminated_backend_gives_database_error_then_the_next_write_reconnects(pg_db: str) -> None:
    sink = PostgresSink(pg_db)
    sink.setup()
    sink.write(PredictionBatch.of(prediction_frame(100, prefix="a")), batch_id="a")
    assert kill_backends(pg_db, "fraudguard-sink") == 1
    with pytest.raises(DatabaseError, match="batch 'b'") as info:
        sink.write(PredictionBatch.of(prediction_frame(100, prefix="b")), batch_id="b")
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    assert stored(pg_db) == 100
    assert sink.upsert(PredictionBatch.of(prediction_frame(100, prefix="b")), batch_id="b") == 100
    assert sink.connections_opened == 2
    assert stored(pg_db) == 200
    sink.close()


def test_a_blocked_table_times_out_rolls_back_and_the_same_connection_recovers(pg_db: str) -> None:
    sink = PostgresSink(pg_db, statement_timeout_ms=300)
    sink.setup()
    sink.write(PredictionBatch.of(prediction_frame(10, prefix="a")), batch_id="a")
    with connect(pg_db) as locker:
        locker.execute("LOCK TABLE fraud_predictions IN ACCESS EXCLUSIVE MODE")  # a "slow" database
        with pytest.raises(DatabaseError, match="upserting") as info:
            sink.write(PredictionBatch.of(prediction_frame(1000, prefix="b")), batch_id="b")
        assert isinstance(info.value.__cause__, psycopg.errors.QueryCanceled)
        locker.rollback()
    assert stored(pg_db) == 10
    assert sink.upsert(PredictionBatch.of(prediction_frame(1000, prefix="b")), batch_id="b") == 1000
    assert sink.connections_opened == 1  # a timeout does not break the connection
    assert stored(pg_db) == 1010
    sink.close()


def test_unreachable_server_is_a_database_error_naming_it_without_password() -> None:
    sink = PostgresSink("postgresql://postgres:s3cret@127.0.0.1:1/nothing", run_migrations=False)
    with pytest.raises(DatabaseError, match=r"127\.0\.0\.1:1") as info:
        sink.setup()
    assert "s3cret" not in str(info.value)
    with pytest.raises(DatabaseError):
        sink.write(PredictionBatch.of(prediction_frame(1)), batch_id="x")


def test_pool_hands_out_working_connections_and_refuses_a_dead_server(pg_db: str) -> None:
    pool = open_pool(pg_db, max_size=2)
    try:
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        kill_backends(pg_db, "fraudguard-api")
        with pool.connection() as conn:  # checked on checkout: the dead one is replaced
            assert conn.execute("SELECT 2").fetchone() == (2,)
    finally:
        pool.close()
    with pytest.raises(DatabaseError, match="connection pool"):
        open_pool(DEAD_URL, timeout_s=1.0)
