"""The engine's shadow stage: challengers scored after the champion, rows handed to their sinks.

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
    ShadowBuffer,
    challenger_parquet_dir,
    challenger_topic,
)
from fraudguard.models.shadow import ShadowScorers


class ShadowStage:
    """Challenger scoring for :class:`~fraudguard.engines.local.scoring.PipelineProcessor`."""

    def __init__(self, registry: Path, buffer: ShadowBuffer, *, check_every_s: float = 3.0) -> None:
        self.scorers = ShadowScorers(registry)
        self.buffer = buffer
        self.check_every_s = check_every_s
        self._checked = float("-inf")
        self.rows_scored = 0

    def refresh(self, champion: Any, *, force: bool = False) -> None:
        """Follow ``ROLES.json`` (and a champion switch, when ``force``)."""
        now = time.monotonic()
        if force or now - self._checked >= self.check_every_s:
            self._checked = now
            self.scorers.refresh(champion)

    def score(self, predictions: pd.DataFrame, features: pd.DataFrame) -> None:
        rows = self.scorers.score(predictions, features)
        self.buffer.put(predictions, rows)
        self.rows_scored += 0 if rows is None else len(rows)


def shadow_stage_and_sinks(
    settings: Any, database_url: str | None, producer: Any, check_every_s: float
) -> tuple[Any, list[Any]]:
    """The engine's shadow stage and the three sinks reading its buffer (PostgreSQL if configured)."""
    buffer = ShadowBuffer()
    stage = ShadowStage(settings.models_dir, buffer, check_every_s=check_every_s)
    sinks: list[Any] = [
        ChallengerParquetSink(challenger_parquet_dir(settings.state_dir), buffer),
        ChallengerKafkaSink(producer, challenger_topic(settings.topic_predictions), buffer),
    ]
    if database_url:
        sinks.insert(0, ChallengerPostgresSink(database_url, buffer))
    return stage, sinks
