"""Features shared by the stream engines, the API and training: one module, never copied.

Pure: no I/O and no service imports. State lives behind :class:`StateStore` (in-process
here, Redis in :mod:`fraudguard.io.redis_state`, Spark's own state through
:mod:`fraudguard.features.groups`).

>>> from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
>>> pipe = FeaturePipeline(FeatureConfig(), card_store=InMemoryStateStore(), merchant_store=InMemoryStateStore())
>>> pipe.feature_names()[:3]
['amount', 'log_amount', 'hour_of_day']
"""

from fraudguard.features.config import FeatureConfig, window_label
from fraudguard.features.groups import card_group_features, merchant_group_features
from fraudguard.features.names import (
    INSERTED_COLUMN,
    STATELESS_FEATURES,
    card_names,
    feature_names,
    merchant_names,
    stateful_names,
)
from fraudguard.features.pipeline import FeaturePipeline
from fraudguard.features.state import CARD_DTYPE, InMemoryStateStore, StateStore
from fraudguard.features.stateless import haversine_km, prepare, stateless_features

__all__ = [
    "CARD_DTYPE",
    "INSERTED_COLUMN",
    "STATELESS_FEATURES",
    "FeatureConfig",
    "FeaturePipeline",
    "InMemoryStateStore",
    "StateStore",
    "card_group_features",
    "card_names",
    "feature_names",
    "haversine_km",
    "merchant_group_features",
    "merchant_names",
    "prepare",
    "stateful_names",
    "stateless_features",
    "window_label",
]
