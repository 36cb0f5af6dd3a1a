"""Entry points for engines that keep state themselves, one key's group at a time.

Spark's ``applyInPandasWithState`` / ``transformWithStateInPandas`` grouped by ``card_id``
hands over one card's serialized state and a pandas frame of its new events; these
functions return that group's features and its new serialized state. They run the very
code of :class:`FeaturePipeline` on a one-key in-process store, so the numbers are the
batch pipeline's numbers.

Card and merchant features are separate so Spark can compute them in two groupings. The
card result carries :data:`INSERTED_COLUMN`; pass it on to the merchant grouping as
``inserted`` so events dropped as too late stay out of merchant state too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fraudguard.errors import ValidationError
from fraudguard.features.config import FeatureConfig
from fraudguard.features.names import INSERTED_COLUMN, card_names, merchant_names
from fraudguard.features.overlay import Overlay
from fraudguard.features.pipeline import FeaturePipeline
from fraudguard.features.state import InMemoryStateStore
from fraudguard.features.stateless import prepare


def _single_key(frame: pd.DataFrame, column: str) -> str:
    if column not in frame.columns:
        raise ValidationError(column, "required column is missing from the transaction frame")
    keys = pd.unique(frame[column])
    if len(keys) != 1:
        raise ValidationError(column, f"a group must hold exactly one {column}, got {len(keys)}")
    return str(keys[0])


def card_group_features(
    config: FeatureConfig, state: bytes | None, events: pd.DataFrame
) -> tuple[pd.DataFrame, bytes | None]:
    """Card features of one card's new events (arrival order) and its new state.

    Returns a float32 frame with :func:`names.card_names` columns plus
    :data:`INSERTED_COLUMN`, indexed like ``events``.
    """
    names = [*card_names(config), INSERTED_COLUMN]
    if len(events) == 0:
        return pd.DataFrame(np.empty((0, len(names)), np.float32), columns=names, index=events.index), state
    key = _single_key(events, "card_id")
    store = InMemoryStateStore()
    if state:
        store.put_many({key: state})
    pipe = FeaturePipeline(config, card_store=store)
    overlay = Overlay(store)
    feats, inserted, _ = pipe._cards(prepare(events), overlay)
    feats[INSERTED_COLUMN] = inserted
    out = pd.DataFrame({n: np.asarray(feats[n], np.float32) for n in names}, index=events.index)
    return out, overlay.get_many([key])[0]


def merchant_group_features(
    config: FeatureConfig, state: bytes | None, events: pd.DataFrame, inserted: np.ndarray | None = None
) -> tuple[pd.DataFrame, bytes | None]:
    """Merchant features of one merchant's new events (arrival order) and its new state.

    ``inserted`` is the card grouping's :data:`INSERTED_COLUMN` for these rows (all True
    when omitted).
    """
    names = merchant_names(config)
    if len(events) == 0:
        return pd.DataFrame(np.empty((0, len(names)), np.float32), columns=names, index=events.index), state
    key = _single_key(events, "merchant_id")
    mask = np.ones(len(events), bool) if inserted is None else np.asarray(inserted).astype(bool)
    if mask.shape != (len(events),):
        raise ValidationError("inserted", f"needs one value per event ({len(events)}), got shape {mask.shape}")
    store = InMemoryStateStore()
    if state:
        store.put_many({key: state})
    pipe = FeaturePipeline(config, merchant_store=store)
    overlay = Overlay(store)
    feats = pipe._merchants(prepare(events), mask, overlay)
    out = pd.DataFrame({n: np.asarray(feats[n], np.float32) for n in names}, index=events.index)
    return out, overlay.get_many([key])[0]


def card_bucket_features(
    config: FeatureConfig, states: Mapping[str, bytes], events: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, bytes]]:
    """Card features of many cards' new events (arrival order) and the new states of the cards touched.

    For engines that group keys into buckets (one Spark group per bucket rather than per
    card: the fixed cost of a group call is paid once per bucket). ``states`` holds the
    stored state of (at least) the cards in ``events``; it is not modified. The batch code
    of :class:`FeaturePipeline` runs on the whole bucket at once, so each card's numbers
    are the ones the local engine computes.
    """
    names = [*card_names(config), INSERTED_COLUMN]
    if len(events) == 0:
        return pd.DataFrame(np.empty((0, len(names)), np.float32), columns=names, index=events.index), {}
    store = InMemoryStateStore()
    store.put_many(states)
    overlay = Overlay(store)
    feats, inserted, _ = FeaturePipeline(config, card_store=store)._cards(prepare(events), overlay)
    feats[INSERTED_COLUMN] = inserted
    out = pd.DataFrame({n: np.asarray(feats[n], np.float32) for n in names}, index=events.index)
    return out, dict(overlay.dirty)


def merchant_bucket_features(
    config: FeatureConfig, states: Mapping[str, bytes], events: pd.DataFrame, inserted: np.ndarray | None = None
) -> tuple[pd.DataFrame, dict[str, bytes]]:
    """Merchant features of many merchants' new events (arrival order) and the new states
    of the merchants touched (see :func:`card_bucket_features`)."""
    names = merchant_names(config)
    if len(events) == 0:
        return pd.DataFrame(np.empty((0, len(names)), np.float32), columns=names, index=events.index), {}
    mask = np.ones(len(events), bool) if inserted is None else np.asarray(inserted).astype(bool)
    if mask.shape != (len(events),):
        raise ValidationError("inserted", f"needs one value per event ({len(events)}), got shape {mask.shape}")
    store = InMemoryStateStore()
    store.put_many(states)
    overlay = Overlay(store)
    feats = FeaturePipeline(config, merchant_store=store)._merchants(prepare(events), mask, overlay)
    out = pd.DataFrame({n: np.asarray(feats[n], np.float32) for n in names}, index=events.index)
    return out, dict(overlay.dirty)
