"""A message that fails after decoding goes to the DLQ with its stage, not into a crash loop.

Decoding never raises (``schema.decode_batch``), but a valid transaction may still break a
later stage: the feature pipeline or the model. Before, such an exception escaped
``LocalEngine.step``; the batch was never committed, so every restart died on it again.

Rule: when scoring a batch raises anything that is not an infrastructure failure (those are
retried: broker, database, state store), the batch is scored again one row at a time; a
row that still fails becomes a dead letter with field ``$`` and reason
``failed at stage <features|model>: <error>``, the others are scored and committed as
usual. Rows scored in the failed whole-batch attempt may have updated card state once
already; that is the price of never stopping, and only happens on a batch with a poison row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.io.sinks.dlq import DeadLetter

log = logging.getLogger(__name__)
STAGE_PREFIX = "failed at stage"


class StageFailure(Exception):
    """A stage after decoding (``features``, ``model``) raised on data, not on infrastructure."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"{stage}: {type(cause).__name__}: {cause}")
        self.stage = stage


def score_isolating(
    process: Callable[[pd.DataFrame, Any], pd.DataFrame],
    frame: pd.DataFrame,
    partitions: np.ndarray,
    row_messages: list[Any],
    letters: list[DeadLetter],
    retryable: tuple[type[BaseException], ...],
) -> pd.DataFrame | None:
    """``process(frame, partitions)``, or row by row with failing rows appended to ``letters``."""
    try:
        return process(frame, partitions)
    except retryable:
        raise
    except Exception as e:
        log.error("scoring a batch of %d failed (%s); isolating the failing rows", len(frame), e)
    parts: list[pd.DataFrame] = []
    for i in range(len(frame)):
        try:
            parts.append(process(frame.iloc[i : i + 1].reset_index(drop=True), partitions[i : i + 1]))
        except retryable:
            raise
        except Exception as e:
            stage = e.stage if isinstance(e, StageFailure) else "score"
            cause = e.__cause__ if isinstance(e, StageFailure) and e.__cause__ is not None else e
            reason = f"{STAGE_PREFIX} {stage}: {type(cause).__name__}: {cause}"
            letters.append(DeadLetter.from_message(row_messages[i], "$", reason))
    return pd.concat(parts, ignore_index=True) if parts else None


__all__ = ["STAGE_PREFIX", "StageFailure", "score_isolating"]
