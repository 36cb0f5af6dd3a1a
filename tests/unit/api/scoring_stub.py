"""A scoring service whose every batch fails with a chosen error: the API's doors without a model.

The micro-batcher calls ``process``; raising from it is what a real scoring service does
when its database or broker is down, so the fast path and the route can be compared on
errors (and on auth, which comes first) without training a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fraudguard.errors import DatabaseError


class FailingScoring:
    """Stands in for :class:`fraudguard.api.scoring.ScoringService`; ``error`` is raised on every batch."""

    scorer = None
    sink = None
    rules = None

    def __init__(self, error: Exception | None = None) -> None:
        self.error: Exception = error or DatabaseError("scoring stub: no database")

    def process(self, groups: Sequence[tuple[Sequence[Any], bool]]) -> list[list[Any]]:
        raise self.error
