"""Prediction frames as hive-partitioned Parquet files (``event_date=YYYY-MM-DD/``).

The files are the analytical copy of the stream: DuckDB, pandas (pyarrow datasets) and
Spark read the directory tree directly and get ``event_date`` from the path. Each file is
named after the micro-batch that produced it, so a batch replayed after a crash replaces
its own file instead of adding a duplicate; every row also carries ``transaction_id`` so a
reader can de-duplicate across batches whose boundaries moved on replay.

A file is written under a hidden temporary name (``.tmp-*``; Spark, DuckDB globs and
pyarrow datasets skip dot-files), fsynced, then renamed over the final name, so a reader
never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudguard.errors import FraudGuardError, SinkError, ValidationError
from fraudguard.frames import LIST_COLUMNS
from fraudguard.schema import MODEL_NAMES, PREDICTION_COLUMNS

UTC_US = pa.timestamp("us", tz="UTC")
"""Microseconds, not pandas' nanoseconds: Spark cannot read Parquet NANOS timestamps."""

PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("card_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string()),
        pa.field("event_time", UTC_US, nullable=False),
        pa.field("amount", pa.float64(), nullable=False),
        pa.field("merchant_id", pa.string(), nullable=False),
        pa.field("merchant_category", pa.string(), nullable=False),
        pa.field("channel", pa.string()),
        *(pa.field(f"score_{m}", pa.float64()) for m in MODEL_NAMES),
        pa.field("ensemble_score", pa.float64(), nullable=False),
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reasons", pa.list_(pa.string())),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("rule_ids", pa.list_(pa.string())),
        pa.field("rule_action", pa.string()),
        pa.field("shadow_rule_ids", pa.list_(pa.string())),
        pa.field("is_fraud", pa.bool_()),
        pa.field("fraud_scenario", pa.string()),
        pa.field("produced_at", UTC_US),
        pa.field("scored_at", UTC_US),
    ]
)
"""Arrow schema of a prediction frame: the Parquet file schema and the PostgreSQL COPY input."""

_DECISIONS = pa.array(["fraud", "legit"])
_ACTIONS = pa.array(["allow", "review", "block"])
_TIME_COLUMNS = ("event_time", "produced_at", "scored_at")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._=-]")


def time_array(series: pd.Series, column: str) -> pa.Array:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = series if str(dtype.tz) == "UTC" else series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        if series.notna().any():
            raise ValidationError(column, "timestamps must be time-zone aware (UTC), got naive datetime64")
        values = series.dt.tz_localize("UTC")
    else:
        try:
            values = pd.to_datetime(series, utc=True, cache=False)
        except (ValueError, TypeError) as e:
            raise ValidationError(column, f"not convertible to a UTC timestamp: {e}") from e
    return pa.array(values, from_pandas=True).cast(UTC_US, safe=False)


def _label_array(series: pd.Series) -> pa.Array:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    bad = ~missing & (values != 0.0) & (values != 1.0)
    if bad.any():
        raise ValidationError("is_fraud", f"must be 1.0, 0.0 or NaN, got {values[bad][0]!r}")
    return pa.array(values == 1.0, type=pa.bool_(), mask=missing)


def _float_array(series: pd.Series, column: str, *, nullable: bool) -> pa.Array:
    """NaN becomes NULL in optional columns (a missing model score) and is refused elsewhere,
    so SQL aggregates never average a NaN."""
    values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if nullable:
        return pa.array(values, type=pa.float64(), mask=missing)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(column, f"must be a finite number, got {values[bad][0]!r} in {int(bad.sum())} row(s)")
    return pa.array(values, type=pa.float64())


def _list_array(series: pd.Series, column: str) -> pa.Array:
    try:
        return pa.array(series.tolist(), type=pa.list_(pa.string()), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ValidationError(column, f"must be a list of strings per row: {e}") from e


_shared: dict[int, tuple[pd.DataFrame, pa.Table]] = {}
_shared_lock = threading.Lock()


@contextmanager
def reuse_prediction_table(frame: pd.DataFrame) -> Iterator[pa.Table]:
    """Convert ``frame`` once; within the block :func:`prediction_table` returns that table.

    The engine wraps one batch's sink writes in it (PostgreSQL and Parquet both need the
    Arrow table, possibly from different threads). Scoped to the block, so a frame changed
    afterwards is never served a stale table. Raises :class:`ValidationError` like
    :func:`prediction_table`.
    """
    table = _build_table(frame)
    key = id(frame)
    with _shared_lock:
        previous = _shared.get(key)
        _shared[key] = (frame, table)
    try:
        yield table
    finally:
        with _shared_lock:
            if previous is None:
                _shared.pop(key, None)
            else:
                _shared[key] = previous


def prediction_table(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with :data:`PREDICTION_SCHEMA` from a prediction frame.

    One conversion shared by the Parquet and PostgreSQL sinks, so both store the same
    types: timestamps as UTC microseconds, ``is_fraud`` as a nullable boolean, ``reasons``
    as ``list<string>``. Raises :class:`ValidationError` naming the first bad column.
    """
    hit = _shared.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    return _build_table(frame)


def _build_table(frame: pd.DataFrame) -> pa.Table:
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(missing[0], f"missing from the prediction frame (missing: {', '.join(missing)})")
    arrays: list[pa.Array] = []
    for field in PREDICTION_SCHEMA:
        name = field.name
        col = frame[name]
        try:
            if name in _TIME_COLUMNS:
                arr = time_array(col, name)
            elif name == "is_fraud":
                arr = _label_array(col)
            elif name in LIST_COLUMNS:
                arr = _list_array(col, name)
            elif pa.types.is_floating(field.type):
                arr = _float_array(col, name, nullable=field.nullable)
            else:
                arr = pa.array(col, type=field.type, from_pandas=True)  # None / NaN -> null
        except (ValueError, TypeError, pa.ArrowException) as e:
            if isinstance(e, FraudGuardError):
                raise
            raise ValidationError(name, f"cannot convert to {field.type}: {e}") from e
        if not field.nullable and arr.null_count:
            raise ValidationError(name, f"{arr.null_count} null value(s) in a required column")
        if name == "decision":
            bad = pc.invert(pc.is_in(arr, value_set=_DECISIONS))
            if pc.any(bad).as_py():
                raise ValidationError(name, f"must be 'fraud' or 'legit', got {arr.filter(bad)[0].as_py()!r}")
        if name == "rule_action":
            bad = pc.and_(pc.invert(pc.is_in(arr, value_set=_ACTIONS)), pc.is_valid(arr))
            if pc.any(bad).as_py():
                raise ValidationError(name, f"must be allow, review, block or null, got {arr.filter(bad)[0].as_py()!r}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=PREDICTION_SCHEMA)


def batch_file_stem(batch_id: str) -> str:
    """File name stem for a batch: readable, filesystem-safe, and distinct per ``batch_id``.

    Unsafe characters become ``_`` and a short hash of the original id is appended so two
    ids that differ only in such characters cannot overwrite each other's files.
    """
    if not batch_id:
        raise ValidationError("batch_id", "must be a non-empty string")
    safe = _SAFE_ID.sub("_", batch_id)[:150]
    if safe != batch_id:
        safe = f"{safe}-{hashlib.sha256(batch_id.encode()).hexdigest()[:12]}"
    return f"part-{safe}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetSink:
    """Sink writing one Parquet file per (batch, event date); idempotent on replay.

    Parameters
    ----------
    root:
        Directory holding the ``event_date=YYYY-MM-DD`` partitions
        (``settings.parquet_dir``).
    compression:
        Parquet codec; zstd keeps files small and every reader here supports it.
    """

    name = "parquet"

    def __init__(self, root: Path | str, *, compression: str = "zstd") -> None:
        self.root = Path(root)
        self.compression = compression
        self.files_written = 0
        self.rows_written = 0

    def setup(self) -> None:
        """Create the root directory; safe to call twice."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SinkError(f"cannot create Parquet directory {self.root}: {e}") from e

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Write the batch as one file per event date, replacing a previous write of ``batch_id``."""
        stem = batch_file_stem(batch_id)
        if frame.empty:
            return
        self.write_by_event_date(prediction_table(frame), stem)

    def write_by_event_date(self, table: pa.Table, stem: str) -> None:
        """One file ``event_date=<UTC day>/<stem>.parquet`` per day of ``table["event_time"]`` (UTC)."""
        dates = pc.cast(table["event_time"], pa.date32())  # UTC days; ~40x cheaper than strftime
        for day in pc.unique(dates).to_pylist():
            part = table.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
            self._write_atomic(self.root / f"event_date={day.isoformat()}", f"{stem}.parquet", part)
            self.rows_written += part.num_rows

    def _write_atomic(self, directory: Path, filename: str, table: pa.Table) -> None:
        tmp = directory / f".tmp-{uuid.uuid4().hex}-{filename}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, tmp, compression=self.compression)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, directory / filename)
            _fsync_dir(directory)
        except (OSError, pa.ArrowException, ValueError) as e:
            tmp.unlink(missing_ok=True)
            raise SinkError(f"cannot write Parquet file {directory / filename}: {e}") from e
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.files_written += 1

    def flush(self) -> None:
        """Nothing to do: each ``write`` is durable (fsync + atomic rename) when it returns."""

    def close(self) -> None:
        """Nothing to release."""
