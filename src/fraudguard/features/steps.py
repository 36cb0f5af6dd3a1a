"""The two stateful steps of the features, card then merchant, as pure functions of state.

A step takes the stored state of the batch's keys and the batch, and returns the batch's
features and the new state of every key it touched. It reads no store and writes none:
:class:`~fraudguard.features.pipeline.FeaturePipeline` reads its stores, runs both steps
and writes what they return (read -> steps -> write), and an engine that keeps state
itself (Spark's state store, :mod:`fraudguard.features.groups`) runs the very same steps
on its own states. One code path, so every engine computes the same numbers.

Inside a step the batch is cut into blocks only where late events require it
(``segments.py``), each block is computed with array operations (``card.py``,
``merchant.py``) and sees the states the blocks before it produced. Python work is per
distinct key per batch (reading and writing its bytes), never per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from fraudguard.features.card import batch_records, card_block, columns, last_times, records
from fraudguard.features.card_history import history_block
from fraudguard.features.config import FeatureConfig
from fraudguard.features.merchant import hour_of, label_records, merchant_block
from fraudguard.features.names import card_names, merchant_names
from fraudguard.features.segments import cut_points, order_cuts
from fraudguard.features.state import CardState, decode_cards, decode_merchants, encode_cards, encode_merchants
from fraudguard.features.stateless import SMALL_BATCH, US_PER_S, Prepared

States = Mapping[str, bytes | None]
"""Stored state per key (``None`` or absent: a key never seen)."""


class KeyIndex(NamedTuple):
    """The distinct keys of a batch column and, per row, the position of its key."""

    codes: np.ndarray
    keys: list[str]
    """In order of first appearance."""


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` (codes in order of first appearance), in plain Python for a few rows."""
    if len(values) > SMALL_BATCH:
        return pd.factorize(values)
    first: dict[object, int] = {}
    codes = np.fromiter((first.setdefault(v, len(first)) for v in values.tolist()), np.intp, len(values))
    uniq = np.empty(len(first), dtype=values.dtype)
    uniq[:] = list(first)
    return codes, uniq


def key_index(ids: np.ndarray) -> KeyIndex:
    """:class:`KeyIndex` of an id column."""
    codes, uniq = _factorize(ids)
    return KeyIndex(codes, [str(u) for u in uniq])


class CardStep(NamedTuple):
    """What :func:`card_step` returns."""

    features: dict[str, np.ndarray]
    """Per :func:`~fraudguard.features.names.card_names` name, one value per row."""
    inserted: np.ndarray
    """Per row, whether the event went into card state (False: too late, dropped)."""
    late: int
    """Rows placed in the windows although older than their card's latest event."""
    states: dict[str, bytes]
    """New state of every card the batch touched."""


class MerchantStep(NamedTuple):
    """What :func:`merchant_step` returns."""

    features: dict[str, np.ndarray]
    """Per :func:`~fraudguard.features.names.merchant_names` name, one value per row."""
    states: dict[str, bytes]
    """New state of every merchant the batch touched."""


class _Written:
    """The stored states plus what earlier blocks of the same step wrote over them."""

    def __init__(self, stored: States) -> None:
        self.stored = stored
        self.written: dict[str, bytes] = {}

    def get(self, keys: Sequence[str]) -> list[bytes | None]:
        written, stored = self.written, self.stored
        if not written:
            return list(map(stored.get, keys))
        mine, theirs = written.get, stored.get
        return [mine(k) or theirs(k) for k in keys]  # written values are never empty

    def put(self, keys: Sequence[str], values: Sequence[bytes]) -> None:
        """Empty values (nothing left to keep) are not written."""
        if all(values):  # the usual case: one C-level update
            self.written.update(zip(keys, values, strict=True))
        else:
            self.written.update((k, v) for k, v in zip(keys, values, strict=True) if v)


def _blocks(cuts: list[int], n: int) -> list[slice]:
    return [slice(a, b) for a, b in zip(cuts, [*cuts[1:], n], strict=True)]


def card_step(config: FeatureConfig, states: States, events: Prepared, index: KeyIndex | None = None) -> CardStep:
    """Card features of a batch (arrival order) and the new state of its cards.

    ``states`` holds the stored state of (at least) the batch's cards; it is not
    modified. ``index`` is :func:`key_index` of ``events.card_id`` when the caller already
    has it (the pipeline needs it to read the states).
    """
    codes, keys = index if index is not None else key_index(events.card_id)
    view = _Written(states)
    st = decode_cards(view.get(keys))
    smax = last_times(columns(st.events), st.counts)
    rows = batch_records(events)
    # Rows bring their own labels only in simulated-chargeback mode (label_delay_s).
    fraud = (events.is_fraud == 1) if config.label_delay_s is not None else np.zeros(len(events), bool)
    cuts = cut_points(codes, events.t_us, smax)
    if len(cuts) == 1:
        feats, inserted = _card_block(config, rows, fraud, codes, keys, st, view)
        late = int((inserted & (events.t_us < smax[codes])).sum())
        return CardStep(feats, inserted, late, view.written)
    feats = {name: np.empty(len(events)) for name in card_names(config)}
    inserted, late = np.empty(len(events), bool), 0
    for block in _blocks(cuts, len(events)):
        sub_codes, sub_keys = _sub_index(codes[block], keys)
        sub = decode_cards(view.get(sub_keys))
        sub_rows = {f: v[block] for f, v in rows.items()}
        f, ins = _card_block(config, sub_rows, fraud[block], sub_codes, sub_keys, sub, view)
        for name, v in f.items():
            feats[name][block] = v
        inserted[block] = ins
        late += int((ins & (events.t_us[block] < last_times(columns(sub.events), sub.counts)[sub_codes])).sum())
    return CardStep(feats, inserted, late, view.written)


def _sub_index(codes: np.ndarray, keys: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes and keys of a block, renumbered from 0 in order of first appearance."""
    sub_codes, sub_uniq = _factorize(codes)
    return sub_codes, [keys[i] for i in sub_uniq]


def _card_block(
    config: FeatureConfig,
    rows: dict[str, np.ndarray],
    fraud: np.ndarray,
    codes: np.ndarray,
    keys: list[str],
    st: CardState,
    view: _Written,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Event-list and daily-bucket card features of one block; its new card state into ``view``."""
    feats, inserted, ns, nc = card_block(rows, codes, columns(st.events), st.counts, config)
    hist, days, day_counts, first = history_block(rows["t"], rows["amount"], fraud, codes, inserted, st, config)
    feats.update(hist)
    view.put(keys, encode_cards(CardState(records(ns), nc, days, day_counts, first)))
    return feats, inserted


def merchant_step(
    config: FeatureConfig,
    states: States,
    events: Prepared,
    inserted: np.ndarray,
    index: KeyIndex | None = None,
) -> MerchantStep:
    """Merchant features of a batch (arrival order) and the new state of its merchants.

    ``inserted`` is :attr:`CardStep.inserted` for these rows: events too late for card
    state stay out of merchant state too. ``states`` and ``index`` as in :func:`card_step`.
    """
    codes, keys = index if index is not None else key_index(events.merchant_id)
    if config.label_delay_s is None:
        new_labels = label_records(events.t_us, np.zeros(len(events)), events.t_us, config)
    else:
        known = events.t_us + int(config.label_delay_s * US_PER_S)
        new_labels = label_records(events.t_us, events.is_fraud, known, config)
    hours = hour_of(events.t_us, config)
    cuts = order_cuts(codes, hours)
    feats = {name: np.empty(len(events)) for name in merchant_names(config)}
    view = _Written(states)
    for block in _blocks(cuts, len(events)):
        sub_codes, sub_keys = _sub_index(codes[block], keys)
        state = decode_merchants(view.get(sub_keys))
        f, new_state = merchant_block(
            sub_codes, events.t_us[block], events.amount[block], new_labels[block], inserted[block], state, config
        )
        view.put(sub_keys, encode_merchants(new_state))
        for name, v in f.items():
            feats[name][block] = v
    return MerchantStep(feats, view.written)


__all__ = ["CardStep", "KeyIndex", "MerchantStep", "States", "card_step", "key_index", "merchant_step"]
