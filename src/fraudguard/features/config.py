"""Hyper-parameters of the feature pipeline: windows, lateness, label delay, state bounds.

They are constructor arguments (never read from the environment) because the same values
must be used by training and by every engine that scores with the trained model: the
model registry stores them next to the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fraudguard.errors import ConfigError


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """What the pipeline computes and how much state it keeps.

    Parameters
    ----------
    card_windows_s
        Sliding windows (seconds) of per-card transaction count and amount sum.
    merchant_windows_s
        Windows (seconds, multiples of ``merchant_bucket_s``) of per-merchant count and amount.
    fraud_share_windows_s
        Windows (seconds, multiples of ``merchant_bucket_s``) of the merchant's known-fraud share.
    merchant_bucket_s
        Merchant aggregates are kept per bucket of this size (hourly) for the last day and
        per UTC day for longer windows, and cover *completed* buckets only (see
        ``merchant.py``). This bounds merchant state (25 hourly + 29 daily buckets for a
        28-day window) whatever the merchant's volume.
    allowed_lateness_s
        An event older than its card's latest event by at most this is placed correctly in
        the windows; an older one is scored against current state but not inserted.
    label_delay_s
        If set, a row whose ``is_fraud`` is 1 becomes a fraud label known ``label_delay_s``
        after its event time (simulated chargeback delay). ``None``: labels come only
        through :meth:`FeaturePipeline.observe_labels`.
    card_ttl_s
        Card history kept (seconds before the card's latest event); also the span of the
        z-score and "seen before" features. Must be at least the largest card window.
    max_card_entries
        At most this many events kept per card: the bound on bytes per card.
    max_merchant_labels
        At most this many fraud labels kept per merchant (the most recent).
    zscore_std_floor
        Smallest standard deviation used in the amount z-score (currency units), so a card
        with identical past amounts does not produce huge scores.
    min_speed_interval_s
        Implied speed is distance / max(interval, this): two swipes seconds apart would
        otherwise give absurd speeds.
    card_history_days
        Long card windows in whole days (count, sum, mean, std of amounts, amount ratios,
        z-score; see ``card_history.py``). They come from per-card daily buckets, not from
        the event list, so a card costs at most ``max(card_history_days) + 1`` buckets of
        24 bytes whatever its volume. Empty: no long card windows.
    merchant_lag_s
        Merchant windows end this long before the transaction's own bucket (a multiple of
        ``merchant_bucket_s``). Partitions of a stream are read in any interleaving; with
        a lag, a merchant feature only counts buckets every partition has long passed, so
        it does not depend on the order in which partitions were read (as long as they
        are less than the lag apart in event time).
    fraud_risk_windows_s
        Label-delayed merchant fraud risk: share and count of known frauds among the
        merchant's transactions of the ``w`` seconds (whole days) that ended
        ``fraud_risk_delay_s`` ago, i.e. of transactions whose labels should be in.
    fraud_risk_delay_s
        How far back the risk windows end (whole days); normally the label delay.
    merchant_streak
        The merchant's latest known label history, day by day over the days whose labels
        are in (before ``fraud_risk_delay_s``, back to the longest risk window): days since
        its last day with a known legit transaction and since its last known fraud, the
        known frauds after that legit day and how long ago that run started. A shop
        breached since a day has only frauds from then on; one fraud among legit sales
        does not (``merchant_streak.py``).
    """

    card_windows_s: tuple[int, ...] = (60, 3600, 86400)
    merchant_windows_s: tuple[int, ...] = (3600, 86400, 7 * 86400)
    fraud_share_windows_s: tuple[int, ...] = (86400, 7 * 86400, 28 * 86400)
    merchant_bucket_s: int = 3600
    allowed_lateness_s: float = 300.0
    label_delay_s: float | None = 7 * 86400.0
    card_ttl_s: int = 7 * 86400
    max_card_entries: int = 64
    max_merchant_labels: int = 1024
    zscore_std_floor: float = 1.0
    min_speed_interval_s: float = 60.0
    card_history_days: tuple[int, ...] = (7, 30)
    merchant_lag_s: int = 0
    fraud_risk_windows_s: tuple[int, ...] = (86400, 7 * 86400, 28 * 86400)
    fraud_risk_delay_s: int = 7 * 86400
    merchant_streak: bool = True

    def __post_init__(self) -> None:
        """Refuse settings that would make features silently wrong."""
        for name in ("card_windows_s", "merchant_windows_s", "fraud_share_windows_s"):
            ws = getattr(self, name)
            if not ws or any(int(w) != w or w <= 0 for w in ws) or len(set(ws)) != len(ws):
                raise ConfigError(f"FeatureConfig.{name} must be distinct positive whole seconds, got {ws!r}")
        if self.merchant_bucket_s <= 0:
            raise ConfigError("FeatureConfig.merchant_bucket_s must be positive")
        if 86400 % self.merchant_bucket_s:
            raise ConfigError("FeatureConfig.merchant_bucket_s must divide a day (86400 s)")
        for name in ("merchant_windows_s", "fraud_share_windows_s"):
            for w in getattr(self, name):
                if w % self.merchant_bucket_s or (w > 86400 and w % 86400):
                    raise ConfigError(
                        f"FeatureConfig.{name}: {w} must be a multiple of merchant_bucket_s={self.merchant_bucket_s} "
                        "and, above one day, a whole number of days"
                    )
        if self.allowed_lateness_s < 0:
            raise ConfigError("FeatureConfig.allowed_lateness_s must be >= 0")
        if self.label_delay_s is not None and self.label_delay_s < 0:
            raise ConfigError("FeatureConfig.label_delay_s must be >= 0 or None")
        if self.card_ttl_s < max(self.card_windows_s):
            raise ConfigError("FeatureConfig.card_ttl_s must be >= the largest card window")
        if self.max_card_entries < 1 or self.max_merchant_labels < 1:
            raise ConfigError("FeatureConfig.max_card_entries and max_merchant_labels must be >= 1")
        if self.zscore_std_floor <= 0 or self.min_speed_interval_s <= 0:
            raise ConfigError("FeatureConfig.zscore_std_floor and min_speed_interval_s must be > 0")

        if any(int(d) != d or d <= 0 for d in self.card_history_days) or len(set(self.card_history_days)) != len(
            self.card_history_days
        ):
            raise ConfigError(
                f"FeatureConfig.card_history_days must be distinct positive days, got {self.card_history_days!r}"
            )
        if self.merchant_lag_s < 0 or self.merchant_lag_s % self.merchant_bucket_s:
            raise ConfigError("FeatureConfig.merchant_lag_s must be >= 0 and a multiple of merchant_bucket_s")
        if any(w <= 0 or w % 86400 for w in self.fraud_risk_windows_s) or self.fraud_risk_delay_s % 86400:
            raise ConfigError("FeatureConfig.fraud_risk_windows_s and fraud_risk_delay_s must be whole days")
        if self.fraud_risk_delay_s < 0:
            raise ConfigError("FeatureConfig.fraud_risk_delay_s must be >= 0")

    @property
    def lag_buckets(self) -> int:
        """Merchant buckets between a transaction's bucket and the end of its merchant windows."""
        return self.merchant_lag_s // self.merchant_bucket_s

    @property
    def card_state_ttl_s(self) -> int:
        """How long a card's state must be kept after its latest event (event list or daily buckets)."""
        return max(self.card_ttl_s, (max(self.card_history_days) + 1) * 86400 if self.card_history_days else 0)

    @property
    def buckets_per_day(self) -> int:
        """Merchant buckets in one day."""
        return 86400 // self.merchant_bucket_s

    @property
    def merchant_days(self) -> int:
        """Days of daily merchant buckets the longest window needs."""
        risk = [w + self.fraud_risk_delay_s for w in self.fraud_risk_windows_s]
        lag_days = -(-self.merchant_lag_s // 86400)
        return max(1, max(*self.merchant_windows_s, *self.fraud_share_windows_s, *risk) // 86400) + lag_days

    @property
    def history_s(self) -> int:
        """How far back any feature looks: the longest card or merchant state, in seconds.

        A stream that started from empty state has features like training's only after this
        long (drift monitoring waits for it, see ``drift_reference.warmup_s``)."""
        return max(self.card_state_ttl_s, self.merchant_days * 86400)

    def to_dict(self) -> dict[str, object]:
        """Plain values, for the model registry's metadata."""
        return asdict(self)


def window_label(seconds: int) -> str:
    """``60 -> "1m"``, ``3600 -> "1h"``, ``86400 -> "1d"``: compact names for columns."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
