"""Features with the shared core, then the current model: the engine's processor.

The feature pipeline is the model's own (:meth:`Scorer.make_pipeline`: the feature
configuration stored in its card), so serving computes exactly what training computed.
Card state is in-process unless a Redis URL is given (then shared by every worker; see
``rebalance.py`` for the rule).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fraudguard.engines.common.models import ModelWatcher
from fraudguard.engines.local.isolate import StageFailure
from fraudguard.engines.local.rebalance import PartitionState
from fraudguard.features import FeatureStores

log = logging.getLogger(__name__)


class PipelineProcessor:
    """Implements the engine's ``Processor``: switch models at boundaries, features, score.

    Parameters
    ----------
    watcher:
        Follows the registry's ``CURRENT`` model.
    stores:
        Card and merchant state stores; in-process by default.
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
        stores: FeatureStores | None = None,
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
        self.stores = stores if stores is not None else FeatureStores.in_memory()
        self.pipeline = self.watcher.scorer.make_pipeline(self.stores)
        self.partition_state: PartitionState | None = None

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

        Feature state is kept across a model switch when the new model's feature
        configuration is the same; otherwise every store is cleared, Redis included (the
        old state was built by another configuration) and the new model starts over. Workers
        sharing Redis each clear when they switch, so history written between the first
        and the last worker's switch (at most ``model_check_s`` apart) is dropped as well.
        """
        if self.rules is not None and self.rules.check():
            self.rule_reloads += 1
        switched = self.watcher.check()
        if self.shadow is not None:
            self.shadow.refresh(self.watcher.scorer, force=switched)
        if not switched:
            return False
        scorer = self.watcher.scorer
        if scorer.feature_config != self.pipeline.config:
            cleared = self.stores.clear()
            log.warning(
                "new model uses another feature configuration: feature state starts over (%d keys cleared)", cleared
            )
            self.pipeline = scorer.make_pipeline(self.stores)
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
        self.stores.card.delete(cards)
