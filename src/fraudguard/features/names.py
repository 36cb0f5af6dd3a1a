"""Names of the feature columns, in the stable order models are trained on.

Training compares PR-AUC with and without the stateful features: :func:`stateful_names`
lists the per-card and per-merchant ones, :data:`STATELESS_FEATURES` the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from fraudguard.features.card_history import history_names
from fraudguard.features.config import FeatureConfig, window_label
from fraudguard.schema import CHANNELS, EXTRA_PREFIX, MERCHANT_CATEGORIES

STATELESS_FEATURES: tuple[str, ...] = (
    "amount",
    "log_amount",
    "hour_of_day",
    "day_of_week",
    "is_weekend",
    "is_night",
    "card_present",
    *(f"channel_{c}" for c in CHANNELS),
    *(f"category_{c}" for c in MERCHANT_CATEGORIES),
    "customer_merchant_km",
)
"""Features of the transaction alone (time in UTC)."""

INSERTED_COLUMN = "card_event_inserted"
"""1.0 when the event entered card state, 0.0 when it came later than the allowed lateness."""


def card_names(config: FeatureConfig) -> list[str]:
    """Per-card stateful feature names for ``config``."""
    names: list[str] = []
    for w in config.card_windows_s:
        label = window_label(w)
        names += [f"card_count_{label}", f"card_amount_{label}"]
    names += [
        "card_secs_since_prev",
        "card_km_from_prev",
        "card_speed_kmh",
        "card_amount_zscore",
        "card_merchant_seen",
        "card_category_seen",
        "card_device_seen",
        f"card_distinct_merchants_{window_label(max(config.card_windows_s))}",
    ]
    return names + history_names(config)


STREAK_FEATURES = (
    "merchant_legit_age_d",
    "merchant_fraud_age_d",
    "merchant_fraud_streak",
    "merchant_fraud_streak_age_d",
)
"""``FeatureConfig.merchant_streak`` features, in this order (``merchant_streak.py``)."""


def merchant_names(config: FeatureConfig) -> list[str]:
    """Per-merchant stateful feature names for ``config``."""
    names: list[str] = []
    for w in config.merchant_windows_s:
        label = window_label(w)
        names += [f"merchant_count_{label}", f"merchant_amount_{label}"]
    for w in config.fraud_share_windows_s:
        names += [f"merchant_fraud_share_{window_label(w)}", f"merchant_fraud_known_{window_label(w)}"]
    for w in config.fraud_risk_windows_s:
        names += [f"merchant_fraud_risk_{window_label(w)}", f"merchant_fraud_count_{window_label(w)}"]
    if config.merchant_streak:
        names += list(STREAK_FEATURES)
    return names


def stateful_names(config: FeatureConfig) -> list[str]:
    """Every per-card and per-merchant feature name (drop these for a stateless baseline)."""
    return card_names(config) + merchant_names(config)


def feature_names(config: FeatureConfig, extras: Sequence[str] = ()) -> list[str]:
    """Base names, then the ``x_*`` passthrough names in the order given."""
    extra = [e if e.startswith(EXTRA_PREFIX) else EXTRA_PREFIX + e for e in extras]
    return [*STATELESS_FEATURES, *stateful_names(config), *extra]
