"""Shadow scoring in the API: recorded ``/v1/score`` calls are also scored by every challenger.

Only recorded calls (``record=true``: the API acting as an engine) are shadow-scored; a
what-if changes nothing anywhere. The rows go to ``fraud_challenger_scores`` and to the
challenger topic, like the engine's; the champion's answer is never affected. Roles are
re-read at most every ``check_every_s`` seconds.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pandas as pd

from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.challenger import ChallengerKafkaSink, ChallengerPostgresSink, ShadowBuffer, challenger_topic
from fraudguard.models.shadow import ShadowScorers


class ApiShadow:
    """Called by :class:`~fraudguard.api.scoring.ScoringService` after a recorded batch is written."""

    def __init__(self, settings: Any, producer: Any | None, *, check_every_s: float = 3.0) -> None:
        self.scorers = ShadowScorers(settings.models_dir)
        self.buffer = ShadowBuffer(keep=2)
        self.pg = ChallengerPostgresSink(settings.database_dsn, self.buffer) if settings.database_dsn else None
        self.kafka = (
            ChallengerKafkaSink(producer, challenger_topic(settings.topic_predictions), self.buffer)
            if producer is not None
            else None
        )
        self.check_every_s = check_every_s
        self._checked = float("-inf")

    def __call__(self, champion: Any, predictions: pd.DataFrame, features: pd.DataFrame) -> None:
        now = time.monotonic()
        if now - self._checked >= self.check_every_s:
            self._checked = now
            self.scorers.refresh(champion)
        rows = self.scorers.score(predictions, features)
        if rows is None:
            return
        self.buffer.put(predictions, rows)
        batch_id = f"api-{uuid.uuid4().hex}"
        batch = PredictionBatch.of(predictions)
        if self.pg is not None:
            self.pg.write(batch, batch_id=batch_id)
        if self.kafka is not None:
            self.kafka.write(batch, batch_id=batch_id)  # delivered with the predictions (no flush per call)

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
