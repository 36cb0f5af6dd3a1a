"""Where challenger (shadow) scores go: PostgreSQL, Parquet and a Kafka topic for the tracker.

The engine's sinks receive the prediction frame; the shadow rows of the same batch travel
beside it through a :class:`ShadowBuffer` (keyed by the prediction frame's identity) so the
engine's delivery loop, its retries and its commit-after-flush rule apply unchanged: a
challenger sink is just one more :class:`~fraudguard.io.sinks.Sink`, flushed before the
offsets are committed. Every sink is idempotent on ``(transaction_id, model_version)``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import psycopg
import pyarrow as pa

from fraudguard.errors import DatabaseError
from fraudguard.io.kafka_sinks import ProducerSink
from fraudguard.io.parquet_sink import ParquetSink, batch_file_stem
from fraudguard.io.pg_schema import migrate
from fraudguard.io.postgres import DEFAULT_STATEMENT_TIMEOUT_MS, connect, db_errors, is_broken
from fraudguard.models.shadow import CHALLENGER_COLUMNS
from fraudguard.records import UTC_US, arrays_to_arrow, time_array, transaction_arrays

CHALLENGER_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("event_time", UTC_US, nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("champion_version", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("champion_score", pa.float64(), nullable=False),
        pa.field("champion_decision", pa.string(), nullable=False),
        pa.field("is_fraud", pa.bool_()),
        pa.field("scored_at", UTC_US, nullable=False),
    ]
)
assert tuple(CHALLENGER_SCHEMA.names) == CHALLENGER_COLUMNS


def challenger_topic(predictions_topic: str) -> str:
    """The shadow-score topic, derived from the predictions topic (isolated runs stay isolated)."""
    return f"{predictions_topic}.challengers"


def challenger_parquet_dir(state_dir: Path) -> Path:
    """``<state_dir>/parquet/challenger_scores``, beside the predictions dataset."""
    return Path(state_dir) / "parquet" / "challenger_scores"


def transactions_parquet_dir(state_dir: Path) -> Path:
    """``<state_dir>/parquet/transactions``: the engine's input history, what ``retrain`` reads."""
    return Path(state_dir) / "parquet" / "transactions"


def drift_topic(predictions_topic: str) -> str:
    """The drift-count topic (bin counts per event-time bucket, one message per batch)."""
    return f"{predictions_topic}.drift"


@dataclass
class BatchExtras:
    """What the shadow stage adds to one batch: challenger rows, drift counts, the transactions."""

    rows: pd.DataFrame | None = None
    drift: dict[str, Any] | None = None
    transactions: pd.DataFrame | None = None


class ShadowBuffer:
    """Per-batch extras waiting for their batch's delivery, keyed by the prediction frame.

    The engine may score batch N+1 while batch N is delivered (pipelining), so the last
    few batches are held; a retried delivery finds its extras again.
    """

    def __init__(self, keep: int = 8) -> None:
        self._extras: OrderedDict[int, BatchExtras] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def put(
        self,
        predictions: pd.DataFrame,
        rows: pd.DataFrame | None,
        drift: dict[str, Any] | None = None,
        transactions: pd.DataFrame | None = None,
    ) -> None:
        with self._lock:
            self._extras.pop(id(predictions), None)
            self._extras[id(predictions)] = BatchExtras(
                None if rows is None or rows.empty else rows, drift, transactions
            )
            while len(self._extras) > self._keep:
                self._extras.popitem(last=False)

    def _get(self, predictions: pd.DataFrame) -> BatchExtras:
        with self._lock:
            return self._extras.get(id(predictions)) or BatchExtras()

    def get(self, predictions: pd.DataFrame) -> pd.DataFrame | None:
        """The batch's challenger rows (``None``: no challenger in service)."""
        return self._get(predictions).rows

    def drift(self, predictions: pd.DataFrame) -> dict[str, Any] | None:
        """The batch's drift message (``None``: the champion has no drift reference)."""
        return self._get(predictions).drift

    def transactions(self, predictions: pd.DataFrame) -> pd.DataFrame | None:
        """The batch's transaction frame (the retraining history)."""
        return self._get(predictions).transactions


def challenger_table(rows: pd.DataFrame) -> pa.Table:
    """Arrow table of shadow rows in :data:`CHALLENGER_SCHEMA`."""
    arrays = []
    for field in CHALLENGER_SCHEMA:
        col = rows[field.name]
        if pa.types.is_timestamp(field.type):
            arrays.append(time_array(col, field.name))
        elif field.name == "is_fraud":
            arrays.append(pa.array(col.to_numpy(dtype="float64"), from_pandas=True).cast(pa.bool_()))
        else:
            arrays.append(pa.array(col, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=CHALLENGER_SCHEMA)


class _ShadowSink:
    def __init__(self, buffer: ShadowBuffer) -> None:
        self.buffer = buffer
        self.rows_written = 0

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        return self.buffer.get(frame)


class ChallengerParquetSink(ParquetSink):
    """Shadow rows as ``event_date=YYYY-MM-DD/part-<batch>.parquet`` (replays replace their file)."""

    name = "challenger-parquet"

    def __init__(self, root: Path | str, buffer: ShadowBuffer) -> None:
        super().__init__(root)
        self.buffer = buffer

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        rows = self.buffer.get(frame)
        if rows is None:
            return
        table = challenger_table(rows)
        stem = batch_file_stem(batch_id)
        self.write_by_event_date(table, stem)


class TransactionParquetSink(ParquetSink):
    """The scored transactions themselves (generator file layout), one file per batch and event date.

    The prediction record lacks fields the features use (device, coordinates, card
    presence), so retraining reads this history, not the predictions.
    """

    name = "transactions-parquet"

    def __init__(self, root: Path | str, buffer: ShadowBuffer) -> None:
        super().__init__(root)
        self.buffer = buffer

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        tx = self.buffer.transactions(frame)
        if tx is None or tx.empty:
            return
        table = arrays_to_arrow(*transaction_arrays(tx))
        stem = batch_file_stem(batch_id)
        self.write_by_event_date(table, stem)


_COLS = ", ".join(CHALLENGER_COLUMNS)
_UPSERT = f"""
INSERT INTO fraud_challenger_scores ({_COLS}) VALUES ({", ".join(["%s"] * len(CHALLENGER_COLUMNS))})
ON CONFLICT (transaction_id, model_version) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in CHALLENGER_COLUMNS[2:])}"""


class ChallengerPostgresSink(_ShadowSink):
    """Upserts shadow rows into ``fraud_challenger_scores``; one transaction per batch."""

    name = "challenger-postgres"

    def __init__(self, url: str, buffer: ShadowBuffer, *, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS):
        super().__init__(buffer)
        self.url, self.statement_timeout_ms = url, statement_timeout_ms
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if is_broken(self._conn):
            self.close()
            self._conn = connect(self.url, statement_timeout_ms=self.statement_timeout_ms)
        assert self._conn is not None
        return self._conn

    def setup(self) -> None:
        conn = connect(self.url, statement_timeout_ms=120_000)
        try:
            migrate(conn)
        finally:
            conn.close()

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        rows = self.rows(frame)
        if rows is None:
            return
        table = challenger_table(rows.drop_duplicates(["transaction_id", "model_version"], keep="last"))
        records = list(zip(*(table.column(c).to_pylist() for c in CHALLENGER_COLUMNS), strict=True))
        conn = self._connection()
        try:
            what = f"upserting challenger scores of batch {batch_id!r}"
            with db_errors(conn, what), conn.transaction(), conn.cursor() as cur:
                cur.executemany(_UPSERT, records)  # type: ignore[arg-type]
        except DatabaseError:
            if is_broken(conn):
                self.close()
            raise
        self.rows_written += len(records)

    def flush(self) -> None:
        """Nothing pending: every ``write`` commits."""

    def close(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


_ENCODER = msgspec.json.Encoder()


def encode_challenger_rows(rows: pd.DataFrame) -> list[bytes]:
    """One JSON object per shadow row (times as ISO-8601, unknown truth as ``null``)."""
    table = challenger_table(rows)
    cols = {c: table.column(c).to_pylist() for c in CHALLENGER_COLUMNS}
    for c in ("event_time", "scored_at"):
        cols[c] = [t.isoformat() for t in cols[c]]
    return [_ENCODER.encode(dict(zip(cols, values, strict=True))) for values in zip(*cols.values(), strict=True)]


class ChallengerKafkaSink(ProducerSink):
    """Publishes shadow rows (keyed by transaction) for the metrics tracker's per-version view."""

    name = "challenger-kafka"

    def __init__(self, producer: Any, topic: str, buffer: ShadowBuffer) -> None:
        super().__init__(producer, topic)
        self.buffer = buffer

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        rows = self.buffer.get(frame)
        if rows is None:
            return
        self._produce_all([t.encode() for t in rows["transaction_id"]], encode_challenger_rows(rows))


class DriftKafkaSink(ProducerSink):
    """Publishes each batch's drift bin counts (keyed by model version) for the metrics tracker."""

    name = "drift-kafka"

    def __init__(self, producer: Any, topic: str, buffer: ShadowBuffer) -> None:
        super().__init__(producer, topic)
        self.buffer = buffer

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        message = self.buffer.drift(frame)
        if message:
            self._produce_all([message["model_version"].encode()], [_ENCODER.encode({**message, "batch": batch_id})])
