"""The PostgreSQL prediction sink: one COPY and one insert (or upsert) per micro-batch.

A batch becomes binary COPY data, encoded from Arrow by pgpq (``pg_binary.py``; no Python
loop over rows, no text parsing in the server), and is streamed with ``COPY ... FROM
STDIN`` into a session-local staging table. (:func:`frame_to_csv` is the former CSV path,
kept as the reference the tests compare stored rows with.) A plain ``INSERT ... SELECT``
then moves it into ``fraud_predictions`` when none of its rows exists yet (the normal case,
and the cheapest for the server). If that hits an existing ``transaction_id`` (a replay)
it is rolled back to a savepoint and the batch is merged with ``INSERT ... SELECT ... ON
CONFLICT (transaction_id) DO NOTHING``: a replayed batch never duplicates rows, and a
decision, once stored, is never rewritten (the first version wins: a re-posted id with
other content must not turn a confirmed fraud legit). Labels live in their own columns,
updated by :func:`fraudguard.io.pg_queries.record_labels`. A label that arrived before
its prediction is picked up from ``labels`` by either statement.

Each ``write`` is one transaction and is durable when it returns; on any driver error the
transaction is rolled back, a broken connection is dropped (the next call reconnects) and
:class:`fraudguard.errors.DatabaseError` is raised for the caller to retry (see
:func:`fraudguard.io.postgres.with_retry`).
"""

from __future__ import annotations

import io
from contextlib import suppress
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from fraudguard.errors import DatabaseError
from fraudguard.io.parquet_sink import prediction_table
from fraudguard.io.pg_binary import frame_to_copy_binary
from fraudguard.io.pg_schema import migrate
from fraudguard.io.postgres import DEFAULT_STATEMENT_TIMEOUT_MS, connect, db_errors, is_broken
from fraudguard.records import LIST_COLUMNS, PREDICTION_COLUMNS, PREDICTION_SCHEMA

STAGE = "fg_stage_predictions"
_COLS = ", ".join(PREDICTION_COLUMNS)
_STAGE_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE}
    (LIKE fraud_predictions INCLUDING DEFAULTS EXCLUDING CONSTRAINTS EXCLUDING INDEXES)
    ON COMMIT DELETE ROWS"""
_COPY = f"COPY {STAGE} ({_COLS}) FROM STDIN (FORMAT binary)"
_UPSERT = f"""
INSERT INTO fraud_predictions ({_COLS}, label, label_source, labelled_at)
SELECT {", ".join(f"s.{c}" for c in PREDICTION_COLUMNS)}, l.is_fraud, l.source, l.labelled_at
FROM {STAGE} s LEFT JOIN labels l ON l.transaction_id = s.transaction_id
ON CONFLICT (transaction_id) DO NOTHING"""

_INSERT_NEW = f"""
INSERT INTO fraud_predictions ({_COLS}, label, label_source, labelled_at)
SELECT {", ".join(f"s.{c}" for c in PREDICTION_COLUMNS)}, l.is_fraud, l.source, l.labelled_at
FROM {STAGE} s LEFT JOIN labels l ON l.transaction_id = s.transaction_id"""
"""The fast path for a batch of new rows (the normal case): ~35% less server CPU than the
upsert's speculative insertion. Any existing ``transaction_id`` (a replay) makes it fail
with a unique violation, rolled back to a savepoint, and the batch takes :data:`_UPSERT`."""

_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
_NUL = "\x00"
_REPLACEMENT = "\ufffd"


def _clean_text(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """PostgreSQL text cannot hold NUL: replace it rather than fail the whole batch forever."""
    return pc.replace_substring(arr, _NUL, _REPLACEMENT)


def _timestamptz_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """``2026-01-01 12:00:00.000000+00``: Arrow formats naive timestamps ~15x faster than zoned ones."""
    return pc.binary_join_element_wise(col.cast(pa.timestamp("us")).cast(pa.string()), "+00", "")


def _array_literals(reasons: pa.ChunkedArray) -> pa.Array:
    """PostgreSQL ``text[]`` literals (``{"a","b\\"c"}``) for a ``list<string>`` column, vectorized."""
    lists = reasons.combine_chunks() if isinstance(reasons, pa.ChunkedArray) else reasons
    if not isinstance(lists, pa.ListArray):  # an empty table may come as a plain null array
        lists = lists.cast(pa.list_(pa.string()))
    values = pc.fill_null(lists.values, "")
    values = pc.replace_substring(_clean_text(values), "\\", "\\\\")
    values = pc.replace_substring(values, '"', '\\"')
    quoted = pc.binary_join_element_wise('"', values, '"', "")
    rebuilt = pa.ListArray.from_arrays(lists.offsets, quoted, mask=lists.is_null())
    joined = pc.binary_join(rebuilt, ",")
    return pc.fill_null(pc.binary_join_element_wise("{", joined, "}", ""), "{}")


def frame_to_csv(frame: pd.DataFrame) -> bytes:
    """The batch as CSV in :data:`PREDICTION_COLUMNS` order, ready for ``COPY ... (FORMAT csv)``.

    Arrow writes NULL as an empty unquoted field and every value quoted, which is exactly
    how PostgreSQL's CSV format tells NULL from the empty string.
    """
    table = prediction_table(frame)
    columns: list[pa.Array | pa.ChunkedArray] = []
    for field, col in zip(PREDICTION_SCHEMA, table.columns, strict=True):
        if field.name in LIST_COLUMNS:
            columns.append(_array_literals(col))
        elif pa.types.is_string(field.type):
            columns.append(_clean_text(col))
        elif pa.types.is_timestamp(field.type):
            columns.append(_timestamptz_text(col))
        else:
            columns.append(col)
    out = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_arrays(columns, names=list(PREDICTION_COLUMNS)), out, _CSV_OPTIONS)
    return out.getvalue()


class PostgresSink:
    """Sink upserting prediction frames into ``fraud_predictions``.

    Parameters
    ----------
    url:
        libpq URL (``postgresql://user@host:port/db``; the embedded server's socket URL works).
    statement_timeout_ms:
        Longest a COPY or upsert may run before it is cancelled and reported.
    run_migrations:
        Whether :meth:`setup` migrates the schema (workers normally do; read-only tools not).
    """

    name = "postgres"

    def __init__(
        self,
        url: str,
        *,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
        run_migrations: bool = True,
    ) -> None:
        self.url = url
        self.statement_timeout_ms = statement_timeout_ms
        self.run_migrations = run_migrations
        self._conn: psycopg.Connection[Any] | None = None
        self.rows_written = 0
        self.connections_opened = 0
        self.fast_inserts = 0
        """Batches that went in with the plain INSERT (no row existed yet)."""

    def _connection(self) -> psycopg.Connection[Any]:
        """The live connection, reconnecting (and recreating the staging table) if needed."""
        if not is_broken(self._conn):
            assert self._conn is not None
            return self._conn
        self._drop_connection()
        conn = connect(self.url, statement_timeout_ms=self.statement_timeout_ms, application_name="fraudguard-sink")
        try:
            with db_errors(conn, "creating the staging table"), conn.transaction():
                conn.execute(_STAGE_DDL)
        except DatabaseError:
            conn.close()
            raise
        self._conn = conn
        self.connections_opened += 1
        return conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def setup(self) -> None:
        """Migrate the schema (unless disabled) and open the connection; safe to call twice."""
        if self.run_migrations:
            conn = connect(self.url, statement_timeout_ms=max(self.statement_timeout_ms, 120_000))
            try:
                migrate(conn)
            finally:
                conn.close()
        self._connection()

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Upsert the batch (the :class:`~fraudguard.io.sinks.Sink` entry point); see :meth:`upsert`."""
        self.upsert(frame, batch_id=batch_id)

    def upsert(self, frame: pd.DataFrame, *, batch_id: str) -> int:
        """Upsert the batch; return the number of rows inserted or changed (identical replays: 0).

        Rows repeating a ``transaction_id`` within the batch keep the first one, and an id
        already stored keeps its stored row (``DO NOTHING``): the first decision wins. Raises :class:`ValidationError` for a malformed
        frame and :class:`DatabaseError` when PostgreSQL fails; both leave the table as it was.
        """
        if frame.empty:
            return 0
        frame = frame.drop_duplicates("transaction_id", keep="first") if "transaction_id" in frame else frame
        payload = frame_to_copy_binary(frame)
        conn = self._connection()
        try:
            what = f"upserting {len(frame)} predictions of batch {batch_id!r}"
            with db_errors(conn, what), conn.transaction(), conn.cursor() as cur:
                with cur.copy(_COPY) as copy:
                    copy.write(payload)
                try:
                    with conn.transaction():  # savepoint: a replay falls back to the upsert
                        cur.execute(_INSERT_NEW)  # type: ignore[arg-type]
                    self.fast_inserts += 1
                except psycopg.errors.UniqueViolation:
                    cur.execute(_UPSERT)  # type: ignore[arg-type]
                written = cur.rowcount
        except DatabaseError:
            if is_broken(conn):
                self._drop_connection()
            raise
        self.rows_written += written
        return written

    def stored(self, transaction_ids: list[str]) -> pd.DataFrame:
        """The stored prediction rows (:data:`PREDICTION_COLUMNS`) of those ids that exist.

        The API's idempotency check reads it before recording (``api/idempotency.py``).
        """
        conn = self._connection()
        query = f"SELECT {_COLS} FROM fraud_predictions WHERE transaction_id = ANY(%s)"
        with db_errors(conn, "reading stored predictions"), conn.transaction(), conn.cursor() as cur:
            cur.execute(query, (transaction_ids,))  # type: ignore[arg-type]
            rows = cur.fetchall()
        return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))

    def flush(self) -> None:
        """Nothing pending: every ``write`` commits before it returns."""

    def close(self) -> None:
        """Close the connection; the sink reconnects if used again."""
        self._drop_connection()
