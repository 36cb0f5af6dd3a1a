"""Which names a rule condition may use, and the type of each.

A rule is checked against a field table before it is ever stored: a typo (``amout``) or a
comparison of a category with a number is refused when the analyst saves the rule, not
discovered as "never matches" in production. Three kinds exist: ``num`` (float columns,
NaN for missing), ``str`` (text columns, None for missing) and ``bool``.

``score_ensemble`` is an alias of the prediction column ``ensemble_score`` so every model
score reads the same way (``score_xgboost``, ``score_ensemble``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from fraudguard.features.config import FeatureConfig
from fraudguard.features.names import feature_names
from fraudguard.schema import MODEL_NAMES

Kind = Literal["num", "str", "bool"]

ALIASES: dict[str, str] = {"score_ensemble": "ensemble_score"}
"""Rule name -> frame column, where they differ."""

TRANSACTION_FIELDS: dict[str, Kind] = {
    "amount": "num",
    "merchant_category": "str",
    "channel": "str",
    "currency": "str",
    "card_present": "bool",
    "card_id": "str",
    "merchant_id": "str",
    "customer_id": "str",
    "device_id": "str",
    "transaction_id": "str",
    "customer_lat": "num",
    "customer_lon": "num",
    "merchant_lat": "num",
    "merchant_lon": "num",
}
SCORE_FIELDS: dict[str, Kind] = {
    **{f"score_{m}": "num" for m in MODEL_NAMES},
    "score_ensemble": "num",
    "ensemble_score": "num",
}

HISTORY_FIELDS: frozenset[str] = frozenset(
    {
        "amount",
        "merchant_category",
        "channel",
        "card_id",
        "merchant_id",
        "customer_id",
        "transaction_id",
        *SCORE_FIELDS,
    }
)
"""Fields stored in the prediction history (Parquet), hence usable in a backtest."""


def default_fields(extra: Iterable[str] = ()) -> dict[str, Kind]:
    """Transaction fields, every model score and the feature columns of the default config.

    Feature columns are numbers (0/1 flags included) except ``card_present``, a boolean.
    ``extra`` adds dataset pass-through columns (``x_V1`` ...) as numbers.
    """
    fields: dict[str, Kind] = {name: "num" for name in feature_names(FeatureConfig())}
    fields.update({name: "num" for name in extra})
    fields.update(TRANSACTION_FIELDS)
    fields.update(SCORE_FIELDS)
    return fields


def column_of(name: str) -> str:
    """The frame column holding rule field ``name``."""
    return ALIASES.get(name, name)


FIELDS: Mapping[str, Kind] = default_fields()
"""The field table used when none is given."""
