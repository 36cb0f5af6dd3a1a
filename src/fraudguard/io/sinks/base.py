"""The one contract every prediction sink implements (PostgreSQL, Parquet, Kafka).

An engine calls ``write`` for each micro-batch on every sink, then ``flush`` on every sink,
and only then commits its source offsets: a crash between the two replays the batch, so
every sink must be idempotent on ``transaction_id`` (upsert, deterministic file names,
consumers that de-duplicate).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd


@runtime_checkable
class Sink(Protocol):
    """Where predictions go. ``frame`` has :data:`fraudguard.schema.PREDICTION_COLUMNS`."""

    name: str

    def setup(self) -> None:
        """Create what the sink needs (tables, directories, topics); safe to call twice."""

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Add one micro-batch. ``batch_id`` is stable across replays of the same input
        (for example ``"<topic>-<partition>-<first offset>"`` or Spark's batch id)."""

    def flush(self) -> None:
        """Make everything written so far durable; raise if it cannot."""

    def close(self) -> None:
        """Release connections; after a flush, loses nothing."""
