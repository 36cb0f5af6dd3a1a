"""Shadow scoring in the API: recorded ``/v1/score`` calls are also scored by every challenger.

Only recorded calls (``record=true``: the API acting as an engine) are shadow-scored; a
what-if changes nothing anywhere. The rows go into a
:class:`~fraudguard.io.sinks.challenger.ShadowBuffer` that the API's challenger sinks
read when the recorded batch is delivered (``build_api_sinks(shadow=...)``): to
``fraud_challenger_scores`` and to the challenger topic, like the engine's, with the
same delivery guarantees as the predictions. The champion's answer is never affected.
Roles are re-read at most every ``check_every_s`` seconds.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from fraudguard.io.sinks.challenger import ShadowBuffer
from fraudguard.models.shadow import ShadowScorers


class ApiShadow:
    """Called by :class:`~fraudguard.api.scoring.ScoringService` before a recorded batch is delivered."""

    def __init__(self, settings: Any, buffer: ShadowBuffer, *, check_every_s: float = 3.0) -> None:
        self.scorers = ShadowScorers(settings.models_dir)
        self.buffer = buffer
        self.check_every_s = check_every_s
        self._checked = float("-inf")

    def __call__(self, champion: Any, predictions: pd.DataFrame, features: pd.DataFrame) -> None:
        now = time.monotonic()
        if now - self._checked >= self.check_every_s:
            self._checked = now
            self.scorers.refresh(champion)
        self.buffer.put(predictions, self.scorers.score(predictions, features))
