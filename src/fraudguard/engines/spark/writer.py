"""``foreachBatch``: one micro-batch to every sink and the dead-letter topic, then Spark commits.

The scored batch is collected to the driver once (one Spark action, so no ``persist`` is
needed) and split in pandas: predictions go to the same sinks as the local engine, the
rejected records to the DLQ with their original bytes, both through
:meth:`~fraudguard.io.sinks.base.SinkSet.deliver` (the local engine's delivery, with its
guarantees). Spark writes its commit log only
after this function returns, so a crash replays the batch with the same ``batch_id``
(``<query>-<Spark batch id>``) and the idempotent sinks rewrite the same rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.engines.spark.times import utc
from fraudguard.io.sinks.base import PredictionBatch, SinkSet
from fraudguard.io.sinks.dlq import DeadLetter
from fraudguard.records import LIST_COLUMNS, TIME_COLUMNS

log = logging.getLogger(__name__)


@dataclass
class WriterStats:
    """Totals since the query started (driver side)."""

    batches: int = 0
    predictions: int = 0
    alerts: int = 0
    dead_letters: int = 0
    last_batch_id: int | None = None
    last_write_s: float = 0.0
    per_batch: list[dict[str, Any]] = field(default_factory=list)


def prediction_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The sinks' prediction frame from collected rows: UTC timestamps, list reasons."""
    out = rows[list(schema.PREDICTION_COLUMNS)].reset_index(drop=True)
    for col in TIME_COLUMNS:
        out[col] = utc(out[col])
    for col in LIST_COLUMNS:
        out[col] = [list(r) if r is not None and not isinstance(r, float) else [] for r in out[col].tolist()]
    out["is_fraud"] = out["is_fraud"].astype(np.float64)
    return out


def dead_letters(rows: pd.DataFrame) -> list[DeadLetter]:
    """DLQ records (original key and value, reason, source position) of rejected rows."""
    stamps = pd.to_datetime(rows["src_timestamp"])
    ms = [None if pd.isna(t) else int(t.value // 1_000_000) for t in stamps]
    return [
        DeadLetter(
            topic=str(topic),
            partition=int(part),
            offset=int(off),
            key=None if key is None or isinstance(key, float) else bytes(key),
            value=None if value is None or isinstance(value, float) else bytes(value),
            field=str(fld),
            reason=str(reason),
            timestamp_ms=t,
        )
        for topic, part, off, key, value, fld, reason, t in zip(
            rows["src_topic"],
            rows["src_partition"],
            rows["src_offset"],
            rows["raw_key"],
            rows["raw_value"],
            rows["error_field"],
            rows["error_reason"],
            ms,
            strict=True,
        )
    ]


class BatchWriter:
    """The ``foreachBatch`` callable: write, flush every sink and the DLQ, count.

    Parameters
    ----------
    sinks
        Prediction sinks (already set up) and the DLQ (``None``: rejected records are only
        counted and logged).
    query_name
        Prefix of the sinks' ``batch_id``: stable across restarts from the same checkpoint.
    rules
        Optional :class:`~fraudguard.io.rule_watcher.RuleWatcher`. Checked once per
        micro-batch (Spark's batch boundary) and applied here, on the driver, to the whole
        batch: transaction fields and model scores are at hand, feature columns are not, so a
        rule on a feature column is skipped by this engine (logged once per rule version).
    shadow
        Optional :class:`~fraudguard.engines.spark.shadow.SparkShadow`, called after the rules
        with the batch's challenger scores; the challenger sinks among ``sinks`` record them.
    """

    def __init__(self, sinks: SinkSet, query_name: str, rules: Any | None = None, shadow: Any | None = None) -> None:
        self.rules = rules
        self.shadow = shadow
        self._warned: set[tuple[int, int]] = set()
        self.sinks = sinks
        self.query_name = query_name
        self.stats = WriterStats()

    def _decide(self, predictions: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        if self.rules is None or not len(predictions):
            return predictions
        self.rules.check()
        source = rows.reset_index(drop=True)
        usable, skipped = self.rules.current.usable([*predictions.columns, *source.columns])
        for r in skipped:
            if (r.id, r.version) not in self._warned:
                self._warned.add((r.id, r.version))
                log.warning("rule #%d %r uses a feature column: not evaluated by the Spark engine", r.id, r.name)
        return usable.apply(predictions, source)

    def __call__(self, batch: Any, epoch_id: int) -> None:
        started = time.perf_counter()
        rows = batch.toPandas()
        rejected_mask = rows["error_field"].notna().to_numpy()
        predictions = self._decide(prediction_frame(rows[~rejected_mask]), rows[~rejected_mask])
        letters = dead_letters(rows[rejected_mask]) if rejected_mask.any() else []
        batch_id = f"{self.query_name}-{epoch_id}"
        if self.shadow is not None and len(predictions):
            self.shadow(predictions, rows[~rejected_mask])
        self.sinks.deliver(PredictionBatch.of(predictions) if len(predictions) else None, letters, batch_id)
        s = self.stats
        alerts = int((predictions["decision"] == "fraud").sum()) if len(predictions) else 0
        s.batches += 1
        s.predictions += len(predictions)
        s.alerts += alerts
        s.dead_letters += len(letters)
        s.last_batch_id = epoch_id
        s.last_write_s = time.perf_counter() - started
        s.per_batch.append({"batch_id": epoch_id, "rows": len(rows), "write_s": s.last_write_s})
        del s.per_batch[:-1000]
