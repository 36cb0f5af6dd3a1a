"""The feature pipeline for one transaction: the batch pipeline's numbers without its set-up cost.

Why: a card authorisation is one transaction, and through the block code
(:class:`~fraudguard.features.pipeline.FeaturePipeline`) one row cost ~1 ms, almost all of
it pandas and NumPy per-call overhead (frame checks, hashing tables, ``searchsorted`` and
``argsort`` on arrays of one). Here the same arithmetic runs on Python numbers:
``single_card.py`` and ``single_merchant.py`` hold the card and merchant parts and say why
the values are the same bit for bit (the same operations in the same order).

"The same" means: equal to :meth:`FeaturePipeline.transform` of a one-row frame, features
and state bytes alike (``tests/unit/features/test_single.py`` checks thousands of rows,
late ones, labels and interleaved batches). A batch of several rows computes its window
sums as differences of running sums over all the batch's cards, so it rounds differently
in the last bits (``test_invariance.py`` holds those to 1e-6); that is why only one-row
batches take this path.

State is read from the pipeline's own stores (one ``get_many`` each, like a batch) and written
by :meth:`FeaturePipeline.write`, which also does the bookkeeping (watermark, expiry, counters):
read -> steps -> write, as the block code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraudguard.errors import ValidationError
from fraudguard.features.config import FeatureConfig
from fraudguard.features.names import feature_names
from fraudguard.features.single_card import Row, card_one, haversine
from fraudguard.features.single_merchant import merchant_one
from fraudguard.features.stateless import US_PER_S, hash_id, prepare
from fraudguard.records import CHANNELS, EXTRA_PREFIX, MERCHANT_CATEGORIES

if TYPE_CHECKING:
    from fraudguard.features.pipeline import FeaturePipeline

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CATEGORY = {c: i for i, c in enumerate(MERCHANT_CATEGORIES)}
_OTHER = _CATEGORY["other"]
NAN = float("nan")


def _id(value: Any, name: str) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        raise ValidationError(name, "must not be missing")
    return value


def _hash(value: Any) -> int:
    """:func:`stateless.hash_ids` of one identifier (missing: 0)."""
    if value is None or (isinstance(value, float) and value != value):
        return 0
    return hash_id(value)


def _float(value: Any) -> float:
    return NAN if value is None else float(value)


def _f32(value: Any) -> float:
    return NAN if value is None else float(np.float32(value))


def _micros(t: datetime) -> int:
    """Microseconds since epoch (naive means UTC), as ``records.to_frame`` + ``prepare`` read them."""
    d = (t if t.tzinfo is not None else t.replace(tzinfo=UTC)) - _EPOCH
    return (d.days * 86_400 + d.seconds) * US_PER_S + d.microseconds


def row_of_transaction(tx: Any) -> Row:
    """The :class:`Row` of a :class:`~fraudguard.records.Transaction` (``to_frame`` then ``prepare``)."""
    amount = float(tx.amount)
    if not math.isfinite(amount):
        raise ValidationError("amount", "must be a finite number in every row")
    cat = tx.merchant_category
    return Row(
        card_id=_id(tx.card_id, "card_id"),
        merchant_id=_id(tx.merchant_id, "merchant_id"),
        t_us=_micros(tx.event_time),
        amount=amount,
        merchant_hash=_hash(tx.merchant_id),
        category=_CATEGORY.get(cat, _OTHER) if isinstance(cat, str) else _OTHER,
        device_hash=_hash(tx.device_id),
        merchant_lat=_f32(tx.merchant_lat),
        merchant_lon=_f32(tx.merchant_lon),
        customer_lat=_float(tx.customer_lat),
        customer_lon=_float(tx.customer_lon),
        channel=tx.channel,
        card_present=bool(tx.card_present),
        is_fraud=NAN if tx.is_fraud is None else float(tx.is_fraud),
    )


def row_of_frame(frame: pd.DataFrame) -> Row:
    """The :class:`Row` of a one-row transaction frame, checked by :func:`stateless.prepare`."""
    b = prepare(frame)
    return Row(
        card_id=b.card_id[0],
        merchant_id=b.merchant_id[0],
        t_us=int(b.t_us[0]),
        amount=float(b.amount[0]),
        merchant_hash=int(b.merchant_hash[0]),
        category=int(b.category[0]),
        device_hash=int(b.device_hash[0]),
        merchant_lat=float(b.merchant_lat[0]),
        merchant_lon=float(b.merchant_lon[0]),
        customer_lat=float(b.customer_lat[0]),
        customer_lon=float(b.customer_lon[0]),
        channel=b.channel[0],
        card_present=bool(b.card_present[0]),
        is_fraud=float(b.is_fraud[0]),
    )


def stateless_one(row: Row) -> list[float]:
    """:func:`stateless.stateless_features` of one row, in ``names.STATELESS_FEATURES`` order."""
    secs = row.t_us // US_PER_S
    hour = (secs // 3600) % 24
    dow = (secs // 86400 + 3) % 7
    out = [row.amount, float(np.log1p(row.amount)), hour, dow, dow >= 5, hour >= 22 or hour < 6, row.card_present]
    out += [row.channel == c for c in CHANNELS]
    out += [row.category == i for i in range(len(MERCHANT_CATEGORIES))]
    out.append(haversine(row.customer_lat, row.customer_lon, row.merchant_lat, row.merchant_lon))
    return out


@dataclass
class OneRow:
    """Features of one transaction and the state writes waiting for :func:`commit_one`."""

    values: np.ndarray
    """float32, in ``pipeline.feature_names(extras)`` order."""
    t_us: int
    cards: dict[str, bytes]
    merchants: dict[str, bytes]
    inserted: bool
    late: bool


def compute_one(pipe: FeaturePipeline, row: Row, extras: Sequence[float] = ()) -> OneRow:
    """Features of ``row`` against the stored state; nothing is written until :func:`commit_one`.

    ``extras`` are the ``x_*`` pass-through values, in the order of the names the caller
    gives :meth:`FeaturePipeline.feature_names`.
    """
    cfg = pipe.config
    fraud = cfg.label_delay_s is not None and row.is_fraud == 1
    card_key, merchant_key = str(row.card_id), str(row.merchant_id)
    card_feats, inserted, late, card_state = card_one(cfg, pipe.card_store.get_many([card_key])[0], row, fraud)
    merchant_value = pipe.merchant_store.get_many([merchant_key])[0]
    merchant_feats, merchant_state = merchant_one(cfg, merchant_value, row, inserted)
    values = np.array([*stateless_one(row), *card_feats, *merchant_feats, *extras], np.float32)
    return OneRow(values, row.t_us, {card_key: card_state}, {merchant_key: merchant_state}, inserted, late)


def commit_one(pipe: FeaturePipeline, one: OneRow) -> None:
    """Write the state of :func:`compute_one` and count the row, as a one-row ``transform`` does."""
    pipe.write(np.array([one.t_us], np.int64), one.cards, one.merchants, int(not one.inserted), int(one.late))


def extras_of(tx: Any) -> tuple[list[str], list[float]]:
    """``x_*`` names (sorted, as ``records.to_frame`` lays them out) and values of a transaction."""
    names = sorted(tx.extras)
    return [EXTRA_PREFIX + n for n in names], [float(tx.extras[n]) for n in names]


def transform_one(pipe: FeaturePipeline, frame: pd.DataFrame, update: bool) -> pd.DataFrame:
    """:meth:`FeaturePipeline.transform` of a one-row frame (the frame and its index kept)."""
    row = row_of_frame(frame)
    extras = [c for c in frame.columns if isinstance(c, str) and c.startswith(EXTRA_PREFIX)]
    values = [float(pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)[0]) for c in extras]
    one = compute_one(pipe, row, values)
    if update:
        commit_one(pipe, one)
    return pd.DataFrame(one.values[None, :], columns=list(names_of(pipe.config, tuple(extras))), index=frame.index)


def transaction_features(pipe: FeaturePipeline, tx: Any, update: bool = True) -> tuple[np.ndarray, tuple[str, ...]]:
    """Features of one :class:`~fraudguard.records.Transaction` and their names (no frame at all)."""
    names, values = extras_of(tx)
    one = compute_one(pipe, row_of_transaction(tx), values)
    if update:
        commit_one(pipe, one)
    return one.values, names_of(pipe.config, tuple(names))


@lru_cache(maxsize=256)
def names_of(config: FeatureConfig, extras: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`names.feature_names`, built once per configuration and extras."""
    return tuple(feature_names(config, extras))


__all__ = [
    "OneRow",
    "Row",
    "commit_one",
    "compute_one",
    "extras_of",
    "names_of",
    "row_of_frame",
    "row_of_transaction",
    "stateless_one",
    "transaction_features",
    "transform_one",
]
