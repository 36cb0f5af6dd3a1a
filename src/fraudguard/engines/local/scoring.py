"""Features with the shared core, then the current model: the engine's processor.

The feature pipeline is built with the :class:`FeatureConfig` stored in the model card,
so serving computes exactly what training computed. Card state is in-process unless a
Redis URL is given (then shared by every worker; see ``rebalance.py`` for the rule).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fraudguard.engines.common.models import ModelWatcher
from fraudguard.engines.local.isolate import StageFailure
from fraudguard.engines.local.rebalance import PartitionState
from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore, StateStore

log = logging.getLogger(__name__)


def feature_config_from_card(card: dict[str, Any]) -> FeatureConfig:
    """The card's feature configuration (lists back to tuples); defaults when absent."""
    raw = (card.get("features") or {}).get("config") or {}
    return FeatureConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


class PipelineProcessor:
    """Implements the engine's ``Processor``: switch models at boundaries, features, score.

    Parameters
    ----------
    watcher:
        Follows the registry's ``CURRENT`` model.
    card_store, merchant_store:
        State stores; in-process by default.
    topic:
        The transactions topic (partition bookkeeping keys).
    rules:
        Optional :class:`~fraudguard.io.rule_watcher.RuleWatcher`; its rules decide beside
        the model and are reloaded between batches when they change.
    """

    def __init__(
        self,
        watcher: ModelWatcher,
        *,
        card_store: StateStore | None = None,
        merchant_store: StateStore | None = None,
        topic: str = "transactions",
        shadow: Any | None = None,
        rules: Any | None = None,
    ) -> None:
        self.watcher = watcher
        self.shadow = shadow
        """Optional :class:`~fraudguard.engines.local.shadow.ShadowStage` (challengers in shadow)."""
        self.rules = rules
        self.rule_reloads = 0
        self.topic = topic
        self.card_store = card_store if card_store is not None else InMemoryStateStore()
        self.merchant_store = merchant_store if merchant_store is not None else InMemoryStateStore()
        self.pipeline = self._pipeline()
        self.partition_state: PartitionState | None = None

    def _pipeline(self) -> FeaturePipeline:
        cfg = feature_config_from_card(self.watcher.scorer.card)
        return FeaturePipeline(cfg, card_store=self.card_store, merchant_store=self.merchant_store)

    @property
    def version(self) -> str:
        return self.watcher.version

    @property
    def known_extras(self) -> frozenset[str]:
        """Extras names the model in service uses; others are dropped at decoding."""
        from fraudguard.admission import known_extras

        return known_extras(getattr(self.watcher.scorer, "extras", ()))

    def at_batch_boundary(self) -> bool:
        """Reload changed rules; switch models if ``CURRENT`` changed (True then).

        Feature state is kept across a model switch unless the feature config differs.
        """
        if self.rules is not None and self.rules.check():
            self.rule_reloads += 1
        switched = self.watcher.check()
        if self.shadow is not None:
            self.shadow.refresh(self.watcher.scorer, force=switched)
        if not switched:
            return False
        cfg = feature_config_from_card(self.watcher.scorer.card)
        if cfg != self.pipeline.config:
            log.warning("new model uses another feature configuration: feature state starts over")
            for store in (self.card_store, self.merchant_store):
                if isinstance(store, InMemoryStateStore):
                    store.delete(list(store.snapshot()))
            self.pipeline = self._pipeline()
        return True

    def process(self, frame: pd.DataFrame, partitions: Sequence[int]) -> pd.DataFrame:
        """Prediction frame for the batch; updates feature state once per transaction."""
        from fraudguard.engines.local.engine import RETRYABLE

        try:
            features = self.pipeline.transform(frame, update=True)
        except RETRYABLE:
            raise
        except Exception as e:
            raise StageFailure("features", e) from e
        try:
            predictions = self.watcher.scorer.score_frame(frame, features)
        except Exception as e:
            raise StageFailure("model", e) from e
        if self.rules is not None:
            predictions = self.rules.current.apply(predictions, features, frame)
        if self.shadow is not None:  # after the rules: the shadow buffer is keyed by the frame the sinks get
            self.shadow.score(predictions, features, frame)
        if self.partition_state is not None:
            self.partition_state.observe(self.topic, frame, partitions)
        return predictions

    def warm(self, frame: pd.DataFrame) -> None:
        """Feed history into the feature state without scoring (rebalance rebuild)."""
        self.pipeline.transform(frame, update=True)

    def forget_cards(self, cards: list[str]) -> None:
        """Delete these cards' state (their partition moved to another worker)."""
        self.card_store.delete(cards)
