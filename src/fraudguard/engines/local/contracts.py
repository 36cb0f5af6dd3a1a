"""What the local engine needs from its collaborators: a processor, a rebalance listener.

Kept apart from ``engine.py`` so that the loop, its helpers (``pending.py``,
``retrying.py``) and callers (``scoring.py``, tests) share one definition without
importing the loop itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd
from confluent_kafka import Consumer, TopicPartition


class Processor(Protocol):
    """Scores transaction frames; owns the model (and its switches) and the feature state."""

    @property
    def version(self) -> str: ...

    def at_batch_boundary(self) -> bool:
        """Called between batches; switch models here. True when a switch happened."""
        ...

    def process(self, frame: pd.DataFrame, partitions: Sequence[int]) -> pd.DataFrame:
        """Prediction frame (``schema.PREDICTION_COLUMNS``) for a transaction frame."""
        ...


class RebalanceListener(Protocol):
    """Told about partition moves so per-card state can follow them (see ``rebalance.py``)."""

    def assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None: ...

    def revoked(self, partitions: list[TopicPartition]) -> None: ...
