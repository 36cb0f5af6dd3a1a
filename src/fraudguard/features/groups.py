"""Features for engines that keep state themselves: a group of events and its keys' states.

Spark's ``applyInPandasWithState`` / ``transformWithStateInPandas`` hand over a group of
rows (one key's, or one bucket of keys') and the state Spark keeps for it;
:func:`group_features` returns the group's features and the new state of the keys it
touched. It runs the pipeline's own steps (:func:`~fraudguard.features.steps.card_step`,
:func:`~fraudguard.features.steps.merchant_step`) on those states, so the numbers are
the batch pipeline's.

Card and merchant features are separate so Spark can compute them in two groupings. The
card result carries :data:`INSERTED_COLUMN`; pass it on to the merchant grouping as
``inserted`` so events dropped as too late stay out of merchant state too.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fraudguard.errors import ValidationError
from fraudguard.features.config import FeatureConfig
from fraudguard.features.names import INSERTED_COLUMN, card_names, merchant_names
from fraudguard.features.stateless import prepare
from fraudguard.features.steps import States, card_step, merchant_step

Kind = Literal["card", "merchant"]


def group_names(kind: Kind, config: FeatureConfig) -> list[str]:
    """Columns :func:`group_features` returns for ``kind``."""
    if kind == "card":
        return [*card_names(config), INSERTED_COLUMN]
    if kind == "merchant":
        return merchant_names(config)
    raise ValueError(f"kind must be 'card' or 'merchant', got {kind!r}")


def _check_key(events: pd.DataFrame, column: str, key: str) -> None:
    if column not in events.columns:
        raise ValidationError(column, "required column is missing from the transaction frame")
    keys = pd.unique(events[column])
    if len(keys) != 1:
        raise ValidationError(column, f"a group must hold exactly one {column}, got {len(keys)}")
    if str(keys[0]) != key:
        raise ValidationError(column, f"the group's {column} is {str(keys[0])!r}, not {key!r}")


def group_features(
    kind: Kind,
    config: FeatureConfig,
    states: States,
    events: pd.DataFrame,
    inserted: np.ndarray | None = None,
    *,
    key: str | None = None,
) -> tuple[pd.DataFrame, dict[str, bytes]]:
    """Card or merchant features of a group's new events (arrival order), and new states.

    Parameters
    ----------
    kind
        ``"card"`` (columns :func:`~fraudguard.features.names.card_names` plus
        :data:`INSERTED_COLUMN`) or ``"merchant"`` (:func:`~fraudguard.features.names.merchant_names`).
    states
        Stored state of (at least) the group's keys; not modified.
    events
        The group's transactions in arrival order.
    inserted
        Merchant features only: the card grouping's :data:`INSERTED_COLUMN` for these rows
        (all True when omitted).
    key
        For a grouping by key: the group's key; events of any other key are refused.

    Returns
    -------
    A float32 frame indexed like ``events``, and the new state of every key the events
    touched (an engine merges it into its own map).
    """
    names = group_names(kind, config)
    if len(events) == 0:
        return pd.DataFrame(np.empty((0, len(names)), np.float32), columns=names, index=events.index), {}
    if key is not None:
        _check_key(events, f"{kind}_id", key)
    if kind == "card":
        if inserted is not None:
            raise ValidationError("inserted", "is an input of merchant features only")
        cards = card_step(config, states, prepare(events))
        feats, touched = {**cards.features, INSERTED_COLUMN: cards.inserted}, cards.states
    else:
        mask = np.ones(len(events), bool) if inserted is None else np.asarray(inserted).astype(bool)
        if mask.shape != (len(events),):
            raise ValidationError("inserted", f"needs one value per event ({len(events)}), got shape {mask.shape}")
        feats, touched = merchant_step(config, states, prepare(events), mask)
    return pd.DataFrame({n: np.asarray(feats[n], np.float32) for n in names}, index=events.index), touched


__all__ = ["Kind", "group_features", "group_names"]
