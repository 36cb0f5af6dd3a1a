"""The engine's shadow stage: challengers scored after the champion, drift counted, both handed to sinks.

Roles are re-read at most every ``check_every_s`` seconds, at batch boundaries only, so
one batch is always shadow-scored by one set of challengers. The rows go to a
:class:`~fraudguard.io.sinks.challenger.ShadowBuffer` that the challenger sinks read
when the batch is delivered (and before its offsets are committed).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from fraudguard.io.sinks.challenger import ShadowBuffer
from fraudguard.metrics.drift import Reference, batch_counts, references_from_card
from fraudguard.models.shadow import ShadowScorers
from fraudguard.schema import MODEL_NAMES

_ENCODER = msgspec.json.Encoder()


def drift_message(
    version: str | None, counts: dict[int, dict[str, list[int]]], cold_from: float | None
) -> dict[str, Any]:
    """The batch's drift message, its counts already JSON (``msgspec.Raw``).

    A batch spread over many event-time buckets has thousands of count lists (one per
    bucket and variable); held as lists in the buffer for the last few batches, they were
    most of the objects the collector's full passes walked in the engine (2-3 µs per
    transaction of the engine's ~35). Encoded at once, they are freed at once; the sink
    embeds the bytes as they are, so the message is byte for byte what it was.
    """
    raw = msgspec.Raw(_ENCODER.encode({str(k): v for k, v in counts.items()}))
    return {"model_version": version, "counts": raw, "cold_from": cold_from}


class ShadowStage:
    """Challenger scoring for :class:`~fraudguard.engines.local.scoring.PipelineProcessor`."""

    def __init__(self, registry: Path, buffer: ShadowBuffer, *, check_every_s: float = 3.0, cold: bool = True) -> None:
        self.scorers = ShadowScorers(registry)
        self.cold = cold
        """Whether this engine's feature state started empty: its drift counts then carry
        ``cold_from`` (its first event time), from which the tracker waits out the card's warm-up."""
        self.cold_from: float | None = None
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
        # one array for the frame, then a view per column: ``features[c]`` per column cost
        # ~1 ms per batch for the ~110 columns, whatever the batch size
        columns: dict[str, Any] = dict(zip(features.columns, features.to_numpy().T, strict=True))
        for c in ("ensemble_score", *(f"score_{m}" for m in MODEL_NAMES)):
            columns[c] = predictions[c].to_numpy()
        seconds = predictions["event_time"].to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
        counts = batch_counts(self._refs, columns, seconds)
        if self.cold and self.cold_from is None and len(seconds):
            self.cold_from = float(seconds.min())
        return drift_message(version, counts, self.cold_from)


def shadow_stage(settings: Any, check_every_s: float, *, cold: bool = True) -> ShadowStage:
    """The engine's shadow stage; its ``buffer`` feeds the challenger sinks (``build_sinks(shadow=...)``).

    ``cold``: the engine's feature state starts empty (in-process state, or an empty Redis).
    """
    return ShadowStage(settings.models_dir, ShadowBuffer(), check_every_s=check_every_s, cold=cold)
