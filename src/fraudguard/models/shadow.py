"""Shadow scoring: every challenger scores what the champion scores, and never decides.

A challenger is scored on the *champion's* feature frame: the engine keeps one feature
state, and a model fed features built by another configuration would be silently wrong.
So a challenger whose card has another feature configuration (or feature list) is not
shadow-scored; it is reported in :attr:`ShadowScorers.skipped` with the reason.

The output is a separate long frame, one row per (transaction, challenger), with the
champion's score and decision beside the challenger's. It never touches the prediction
record (that is what decides), so no consumer of predictions can mistake a challenger
score for a decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.errors import ModelError
from fraudguard.models.card import ModelCard
from fraudguard.models.lifecycle import read_roles
from fraudguard.models.scorer import Scorer

log = logging.getLogger(__name__)

CHALLENGER_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "event_time",
    "model_version",
    "champion_version",
    "score",
    "threshold",
    "decision",
    "champion_score",
    "champion_decision",
    "is_fraud",
    "scored_at",
)
"""One row per (transaction, challenger): the challenger table, its Parquet dataset and topic."""


def _features_key(card: ModelCard) -> tuple[Any, Any]:
    return card.feature_names, card.features.config


class ShadowScorers:
    """The challengers in service, kept in step with the registry's ``ROLES.json``.

    Parameters
    ----------
    registry:
        The model registry directory.
    loader:
        ``loader(registry, version) -> Scorer`` (the real loader by default).
    """

    def __init__(self, registry: Path, *, loader: Callable[[Path, str], Scorer] | None = None) -> None:
        self.registry = Path(registry)
        self._loader = loader or (lambda root, version: Scorer.load(root, version))
        self.scorers: dict[str, Scorer] = {}
        self.skipped: dict[str, str] = {}
        self.champion_card: ModelCard | None = None

    @property
    def versions(self) -> list[str]:
        return list(self.scorers)

    def refresh(self, champion: Scorer) -> bool:
        """Load new challengers and drop retired ones (a batch boundary); True when the set changed."""
        try:
            wanted = [v for v in read_roles(self.registry).challengers if v != champion.version]
        except ModelError as e:
            log.warning("challenger roles unreadable, keeping %s: %s", self.versions, e)
            return False
        key = _features_key(champion.card)
        before = (set(self.scorers), dict(self.skipped))
        self.scorers = {v: s for v, s in self.scorers.items() if v in wanted and _features_key(s.card) == key}
        self.skipped = {}
        for version in wanted:
            if version in self.scorers:
                continue
            try:
                scorer = self._loader(self.registry, version)
            except ModelError as e:
                self.skipped[version] = f"cannot load: {e}"
                continue
            if _features_key(scorer.card) != key:
                self.skipped[version] = "another feature configuration than the champion's"
                continue
            self.scorers[version] = scorer
        changed = (set(self.scorers), self.skipped) != before
        if changed:
            log.warning("shadow challengers: %s (skipped: %s)", self.versions or "none", self.skipped or "none")
        return changed

    def score(self, predictions: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame | None:
        """Challenger rows for a scored batch (``None`` when no challenger is in service)."""
        if not self.scorers or predictions.empty:
            return None
        return pd.concat([challenger_rows(s, predictions, features) for s in self.scorers.values()], ignore_index=True)


def challenger_rows(scorer: Scorer, predictions: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """One challenger's rows (:data:`CHALLENGER_COLUMNS`) beside the champion's ``predictions``."""
    _base, score = scorer.raw_scores(features)
    n = len(predictions)
    return rows_from_scores(
        predictions, np.full(n, scorer.version, dtype=object), score, np.full(n, scorer.thresholds.value)
    )


def rows_from_scores(
    predictions: pd.DataFrame, model_version: np.ndarray, score: np.ndarray, threshold: np.ndarray
) -> pd.DataFrame:
    """Shadow rows from challenger scores computed elsewhere (a Spark worker), row-aligned with ``predictions``.

    ``predictions`` may repeat a transaction (one row per challenger); the decision is the
    challenger's own ``score >= threshold``, never the champion's.
    """
    score = np.asarray(score, dtype=np.float64)
    threshold = np.asarray(threshold, dtype=np.float64)
    return pd.DataFrame(
        {
            "transaction_id": predictions["transaction_id"].to_numpy(),
            "event_time": predictions["event_time"].array,
            "model_version": np.asarray(model_version, dtype=object),
            "champion_version": predictions["model_version"].to_numpy(),
            "score": score,
            "threshold": threshold,
            "decision": np.where(score >= threshold, "fraud", "legit").astype(object),
            "champion_score": predictions["ensemble_score"].to_numpy(dtype=np.float64),
            "champion_decision": predictions["decision"].to_numpy(),
            "is_fraud": predictions["is_fraud"].to_numpy(dtype=np.float64),
            "scored_at": predictions["scored_at"].array,
        }
    )
