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

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudguard.errors import SinkError, ValidationError
from fraudguard.records import predictions_to_arrow

_SAFE_ID = re.compile(r"[^A-Za-z0-9._=-]")

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
    table = predictions_to_arrow(frame)
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
    """:func:`fraudguard.records.predictions_to_arrow` of ``frame``, converted once per batch.

    Inside :func:`reuse_prediction_table` the shared table; otherwise a fresh conversion.
    Raises :class:`ValidationError` naming the first bad column.
    """
    hit = _shared.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    return predictions_to_arrow(frame)


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
