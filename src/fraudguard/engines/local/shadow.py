"""The engine's shadow stage: challengers scored after the champion, drift counted, both handed to sinks.

Roles are re-read at most every ``check_every_s`` seconds, at batch boundaries only, so
one batch is always shadow-scored by one set of challengers. The rows go to a
:class:`~fraudguard.io.challenger_sinks.ShadowBuffer` that the challenger sinks read
when the batch is delivered (and before its offsets are committed).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from fraudguard.io.challenger_sinks import (
    ChallengerKafkaSink,
    ChallengerParquetSink,
    ChallengerPostgresSink,
    DriftKafkaSink,
    ShadowBuffer,
    TransactionParquetSink,
    challenger_parquet_dir,
    challenger_topic,
    drift_topic,
    transactions_parquet_dir,
)
from fraudguard.metrics.drift import Reference, batch_counts, references_from_card
from fraudguard.models.shadow import ShadowScorers
from fraudguard.schema import MODEL_NAMES


class ShadowStage:
    """Challenger scoring for :class:`~fraudguard.engines.local.scoring.PipelineProcessor`."""

    def __init__(self, registry: Path, buffer: ShadowBuffer, *, check_every_s: float = 3.0) -> None:
        self.scorers = ShadowScorers(registry)
        self.buffer = buffer
        self.check_every_s = check_every_s
        self._checked = float("-inf")
        self.rows_scored = 0
        self._refs: list[Reference] = []
        self._ref_version: str | None = None

    def refresh(self, champion: Any, *, force: bool = False) -> None:
        """Follow ``ROLES.json`` (and a champion switch, when ``force``)."""
        now = time.monotonic()
        if force or now - self._checked >= self.check_every_s:
            self._checked = now
            self.scorers.refresh(champion)
        self.scorers.champion_card = champion.card

    def score(
        self, predictions: pd.DataFrame, features: pd.DataFrame, transactions: pd.DataFrame | None = None
    ) -> None:
        rows = self.scorers.score(predictions, features)
        self.buffer.put(predictions, rows, self._drift(predictions, features), transactions)
        self.rows_scored += 0 if rows is None else len(rows)

    def _drift(self, predictions: pd.DataFrame, features: pd.DataFrame) -> dict[str, Any] | None:
        """Bin counts of the batch's features and scores in the champion's reference bins."""
        version = predictions["model_version"].iat[0] if len(predictions) else None
        if version != self._ref_version:
            self._refs, _top = references_from_card(self.scorers.champion_card)
            self._ref_version = version
        if not self._refs:
            return None
        columns: dict[str, Any] = {c: features[c].to_numpy() for c in features.columns}
        for c in ("ensemble_score", *(f"score_{m}" for m in MODEL_NAMES)):
            columns[c] = predictions[c].to_numpy()
        seconds = predictions["event_time"].to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
        counts = batch_counts(self._refs, columns, seconds)
        return {"model_version": version, "counts": {str(k): v for k, v in counts.items()}}


def shadow_stage_and_sinks(
    settings: Any, database_url: str | None, producer: Any, check_every_s: float
) -> tuple[Any, list[Any]]:
    """The engine's shadow stage and the three sinks reading its buffer (PostgreSQL if configured)."""
    buffer = ShadowBuffer()
    stage = ShadowStage(settings.models_dir, buffer, check_every_s=check_every_s)
    sinks: list[Any] = [
        ChallengerParquetSink(challenger_parquet_dir(settings.state_dir), buffer),
        TransactionParquetSink(transactions_parquet_dir(settings.state_dir), buffer),
        ChallengerKafkaSink(producer, challenger_topic(settings.topic_predictions), buffer),
        DriftKafkaSink(producer, drift_topic(settings.topic_predictions), buffer),
    ]
    if database_url:
        sinks.insert(0, ChallengerPostgresSink(database_url, buffer))
    return stage, sinks
