"""Shadow scoring in the Spark engine: challengers score on the workers, are recorded on the driver.

The split follows where the data is. Features exist only inside the scoring
``mapInPandas`` on the Python workers, so each challenger scores there, on the champion's
features (the rule of :class:`~fraudguard.models.shadow.ShadowScorers`), and its score
travels to the driver as three array columns beside the prediction (:data:`SHADOW_DDL`:
one entry per challenger, empty lists when none is in service). On the driver,
``foreachBatch`` applies the rules first, then :class:`SparkShadow` turns the arrays into
the same challenger rows as the local engine (with the champion's final decision beside
them) and puts them in a :class:`~fraudguard.io.sinks.challenger.ShadowBuffer`; the
challenger sinks are ordinary sinks of the writer, so they are flushed before Spark
commits the batch and rewritten idempotently on a replay. A challenger never decides: the
prediction columns do not change.

Roles: each worker re-reads ``ROLES.json`` whenever it scores a micro-batch's partition (a
small file; challengers are loaded once per worker process), so a challenger added or
retired between batches is followed from the next batch. A batch whose partitions straddle
the change may be shadow-scored by the old set in some partitions; rows carry their own
version, so nothing is mislabelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.models.scorer import Scorer
from fraudguard.models.shadow import ShadowScorers, rows_from_scores

SHADOW_DDL = "shadow_versions array<string>, shadow_scores array<double>, shadow_thresholds array<double>"
SHADOW_COLUMNS: tuple[str, ...] = tuple(part.split()[0] for part in SHADOW_DDL.split(", "))

_SHADOWS: dict[str, ShadowScorers] = {}


def worker_shadow(models_dir: str, champion: Scorer) -> ShadowScorers:
    """This worker process's challengers of ``champion``, following ``ROLES.json`` (read at each call)."""
    shadow = _SHADOWS.get(models_dir)
    if shadow is None:
        shadow = _SHADOWS[models_dir] = ShadowScorers(Path(models_dir))
    shadow.refresh(champion)
    return shadow


def shadow_columns(shadow: ShadowScorers | None, features: pd.DataFrame) -> dict[str, list[Any]]:
    """Per row: every challenger's version, score and threshold (parallel lists; empty without challengers)."""
    n = len(features)
    versions = list(shadow.scorers) if shadow is not None else []
    if not versions:
        return {c: [[]] * n for c in SHADOW_COLUMNS}  # one shared empty list: read by Arrow, never changed
    scorers = list(shadow.scorers.values()) if shadow is not None else []
    scores = np.column_stack([s.raw_scores(features)[1] for s in scorers]).astype(np.float64)
    thresholds = [float(s.thresholds.value) for s in scorers]
    return {
        "shadow_versions": [versions] * n,
        "shadow_scores": scores.tolist(),
        "shadow_thresholds": [thresholds] * n,
    }


def _lists(column: pd.Series) -> list[Any]:
    return [() if v is None or isinstance(v, float) else v for v in column.tolist()]


def _flat(column: pd.Series) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64) for v in _lists(column) if len(v)])


class SparkShadow:
    """The driver's half: challenger rows of a decided batch, put where the challenger sinks read them.

    Parameters
    ----------
    buffer
        The :class:`~fraudguard.io.sinks.challenger.ShadowBuffer` the challenger sinks share.
    """

    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer
        self.rows_scored = 0

    def __call__(self, predictions: pd.DataFrame, rows: pd.DataFrame) -> None:
        """``predictions`` (after the rules) and the collected ``rows`` they came from, row-aligned."""
        versions = _lists(rows["shadow_versions"])
        lengths = np.fromiter((len(v) for v in versions), dtype=np.int64, count=len(versions))
        if not lengths.sum():
            self.buffer.put(predictions, None)
            return
        pos = np.repeat(np.arange(len(predictions)), lengths)
        versions_flat = np.concatenate([np.asarray(v, dtype=object) for v in versions if len(v)])
        scores, thresholds = (_flat(rows[c]) for c in ("shadow_scores", "shadow_thresholds"))
        out = rows_from_scores(predictions.iloc[pos], versions_flat, scores, thresholds)
        self.buffer.put(predictions, out)
        self.rows_scored += len(out)


def shadow_sinks(settings: Any, database_url: str | None, producer: Any) -> tuple[SparkShadow, list[Any]]:
    """The driver's shadow step and the challenger sinks it feeds (table if PostgreSQL is configured, Parquet, topic)."""
    from fraudguard.io.sinks.challenger import (
        ChallengerKafkaSink,
        ChallengerParquetSink,
        ChallengerPostgresSink,
        ShadowBuffer,
        challenger_parquet_dir,
        challenger_topic,
    )

    buffer = ShadowBuffer()
    sinks: list[Any] = [
        ChallengerParquetSink(challenger_parquet_dir(settings.state_dir), buffer),
        ChallengerKafkaSink(producer, challenger_topic(settings.topic_predictions), buffer),
    ]
    if database_url:
        sinks.insert(0, ChallengerPostgresSink(database_url, buffer))
    return SparkShadow(buffer), sinks
