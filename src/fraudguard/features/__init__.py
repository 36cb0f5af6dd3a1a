"""Features shared by the stream engines, the API and training: one module, never copied.

Pure: no I/O and no service imports. State lives behind :class:`StateStore` (in-process
here, Redis in :mod:`fraudguard.io.redis_state`). The stateful features are two pure
steps, :func:`card_step` and :func:`merchant_step`, which engines keeping state
themselves (Spark) run through :func:`group_features`.

>>> from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
>>> pipe = FeaturePipeline(FeatureConfig(), card_store=InMemoryStateStore(), merchant_store=InMemoryStateStore())
>>> pipe.feature_names()[:3]
['amount', 'log_amount', 'hour_of_day']
"""

from fraudguard.features.config import FeatureConfig, window_label
from fraudguard.features.groups import group_features
from fraudguard.features.names import (
    INSERTED_COLUMN,
    STATELESS_FEATURES,
    card_names,
    feature_names,
    merchant_names,
    stateful_names,
)
from fraudguard.features.pipeline import FeaturePipeline
from fraudguard.features.state import CARD_DTYPE, FeatureStores, InMemoryStateStore, StateStore
from fraudguard.features.stateless import haversine_km, prepare, stateless_features
from fraudguard.features.steps import CardStep, MerchantStep, card_step, merchant_step

__all__ = [
    "CARD_DTYPE",
    "INSERTED_COLUMN",
    "STATELESS_FEATURES",
    "CardStep",
    "FeatureConfig",
    "FeaturePipeline",
    "FeatureStores",
    "InMemoryStateStore",
    "MerchantStep",
    "StateStore",
    "card_names",
    "card_step",
    "feature_names",
    "group_features",
    "haversine_km",
    "merchant_names",
    "merchant_step",
    "prepare",
    "stateful_names",
    "stateless_features",
    "window_label",
]
