"""The feature pipeline every engine, the API and training call: one code path, one result.

``transform`` turns a transaction frame into float32 features in three phases: read the
card and merchant states of the batch's keys (one ``get_many`` per store), run the
stateless features and the two stateful steps on them (:func:`~fraudguard.features.steps.card_step`,
:func:`~fraudguard.features.steps.merchant_step`: pure functions, also what the Spark
engine runs), and write the new states once (or never, for a what-if).

Late events: an event older than its card's latest event by at most
``allowed_lateness_s`` is placed correctly in the windows. An older one is counted in
``stats()["late_dropped"]``, scored against the current state (windows ending at its own
time) and *not* inserted into card or merchant state. Each event updates state once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.errors import ValidationError
from fraudguard.features.config import FeatureConfig
from fraudguard.features.merchant import combine_labels, label_records, newest_hour
from fraudguard.features.names import feature_names
from fraudguard.features.single import transform_one
from fraudguard.features.state import InMemoryStateStore, StateStore, decode_merchants, encode_merchants
from fraudguard.features.stateless import US_PER_S, prepare, stateless_features
from fraudguard.features.steps import States, card_step, key_index, merchant_step
from fraudguard.features.watermark import QuorumWatermark
from fraudguard.schema import EXTRA_PREFIX

_NO_TIME = np.iinfo(np.int64).min


def _read(store: StateStore, keys: list[str]) -> States:
    return dict(zip(keys, store.get_many(keys), strict=True))


def _to_us(values: Any, field: str, n: int) -> np.ndarray:
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(values if np.ndim(values) else [values] * n, utc=True))
    except (TypeError, ValueError) as e:
        raise ValidationError(field, f"must be datetimes: {e}") from e
    if idx.isna().any() or len(idx) != n:
        raise ValidationError(field, f"needs {n} non-missing datetimes")
    return idx.as_unit("us").asi8


class FeaturePipeline:
    """Stateless, per-card and per-merchant features with state behind two stores.

    Parameters
    ----------
    config
        Windows and bounds; the default is what the models are trained with.
    card_store, merchant_store
        Where card and merchant state live (in-process by default; Redis via
        :class:`fraudguard.io.redis_state.RedisStateStore`). Use distinct stores or prefixes.
    """

    def __init__(
        self,
        config: FeatureConfig | None = None,
        *,
        card_store: StateStore | None = None,
        merchant_store: StateStore | None = None,
    ) -> None:
        self.config = config or FeatureConfig()
        self.card_store: StateStore = card_store if card_store is not None else InMemoryStateStore()
        self.merchant_store: StateStore = merchant_store if merchant_store is not None else InMemoryStateStore()
        if self.card_store is self.merchant_store:
            raise ValidationError("merchant_store", "must not be the same store as card_store (keys would collide)")
        self._counters = {"rows": 0, "batches": 0, "late_events": 0, "late_dropped": 0, "expired": 0, "labels": 0}
        self._watermark_us = _NO_TIME
        self._clock = QuorumWatermark()  # expiry clock: no single event can jump it (watermark.py)
        self._last_sweep_us = _NO_TIME
        self.single_row = True  # one-row batches take the scalar path (single.py): same numbers, ~20x faster

    def feature_names(self, extras: Sequence[str] = ()) -> list[str]:
        """Base feature names, then the ``x_*`` passthrough names in the order given."""
        return feature_names(self.config, extras)

    def transform(self, frame: pd.DataFrame, update: bool = True) -> pd.DataFrame:
        """Features for a transaction frame: float32, same index and row order as ``frame``.

        ``update=False`` computes the same values without changing any state (what-if
        scoring in the API). ``frame`` is never modified. Rows must be in arrival order.
        """
        if len(frame) == 1 and self.single_row:
            return transform_one(self, frame, update)
        b = prepare(frame)
        extras = [c for c in frame.columns if isinstance(c, str) and c.startswith(EXTRA_PREFIX)]
        names = self.feature_names(extras)
        out = np.empty((len(b), len(names)), np.float32)
        if len(b) == 0:
            return pd.DataFrame(out, columns=names, index=frame.index)
        card_keys, merchant_keys = key_index(b.card_id), key_index(b.merchant_id)
        card_states = _read(self.card_store, card_keys.keys)  # read
        merchant_states = _read(self.merchant_store, merchant_keys.keys)
        cards = card_step(self.config, card_states, b, card_keys)  # steps
        merchants = merchant_step(self.config, merchant_states, b, cards.inserted, merchant_keys)
        feats = stateless_features(b)
        feats.update(cards.features)
        feats.update(merchants.features)
        for j, name in enumerate(names[: len(names) - len(extras)]):
            out[:, j] = feats[name]
        for j, name in enumerate(extras, start=len(names) - len(extras)):
            out[:, j] = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        if update:
            self.write(b.t_us, cards.states, merchants.states, int((~cards.inserted).sum()), cards.late)  # write
        return pd.DataFrame(out, columns=names, index=frame.index)

    def write(
        self, t_us: np.ndarray, cards: Mapping[str, bytes], merchants: Mapping[str, bytes], dropped: int, late: int
    ) -> None:
        """Store a batch's new card and merchant states, advance the expiry clock, count, sweep.

        ``t_us``: the batch's event times; ``dropped``: rows too late to enter state; ``late``:
        rows placed although older than their card's latest event (the steps say both).
        """
        cfg = self.config
        wm = self._clock.advance(t_us)
        self._watermark_us = wm
        slack = cfg.allowed_lateness_s
        if cards:
            self.card_store.put_many(cards, expire_at=wm / US_PER_S + cfg.card_state_ttl_s + slack)
        if merchants:
            span_s = cfg.merchant_days * 86400
            self.merchant_store.put_many(merchants, expire_at=wm / US_PER_S + span_s + slack)
        c = self._counters
        c["rows"] += len(t_us)
        c["batches"] += 1
        c["late_events"] += late
        c["late_dropped"] += dropped
        if wm - self._last_sweep_us >= max(60.0, cfg.card_state_ttl_s / 100) * US_PER_S:
            self._last_sweep_us = wm
            c["expired"] += self.card_store.expire(wm / US_PER_S)
            c["expired"] += self.merchant_store.expire(wm / US_PER_S)

    def observe_labels(
        self,
        merchant_ids: Sequence[str] | np.ndarray | pd.Series,
        event_times: object,
        is_fraud: Sequence[bool] | np.ndarray | pd.Series,
        known_at: object,
    ) -> int:
        """Record late labels (``labels`` topic) for the merchant fraud-share features.

        ``event_times`` are the labelled transactions' event times, ``known_at`` when the
        label became known (one value or one per label; naive datetimes are taken as UTC).
        A label counts for a transaction only if known before that transaction's bucket
        began. Only fraud labels are stored: legitimate ones change no share. Returns how
        many fraud labels were stored.
        """
        mids = np.asarray(merchant_ids, dtype=object)
        n = len(mids)
        if pd.isna(mids).any():
            raise ValidationError("merchant_id", "must not be missing")
        fraud = np.asarray(is_fraud, dtype=np.float64)
        if fraud.shape != (n,):
            raise ValidationError("is_fraud", f"needs {n} values, got shape {fraud.shape}")
        rec = label_records(_to_us(event_times, "event_time", n), fraud, _to_us(known_at, "known_at", n), self.config)
        keep = rec["n"] > 0
        if not keep.any():
            return 0
        codes, uniq = pd.factorize(mids[keep])
        keys = [str(u) for u in uniq]
        st = decode_merchants(self.merchant_store.get_many(keys))
        labels = np.concatenate([st.labels, rec[keep]])
        label_codes = np.concatenate([np.repeat(np.arange(len(keys)), st.label_count), codes])
        newest = newest_hour(st.hourly, st.hourly_count, labels, label_codes)
        lab, lcount = combine_labels(self.config, len(keys), labels, label_codes, newest)
        merged = st._replace(labels=lab, label_count=lcount)
        span_s = self.config.merchant_days * 86400
        self.merchant_store.put_many(
            dict(zip(keys, encode_merchants(merged), strict=True)), expire_at=self._watermark_us / US_PER_S + span_s
        )
        self._counters["labels"] += int(keep.sum())
        return int(keep.sum())

    def stats(self) -> dict[str, float]:
        """Cards and merchants held, bytes per card, rows seen, late events placed and dropped."""
        cards = len(self.card_store)
        card_bytes = self.card_store.nbytes()
        return {
            "cards": cards,
            "merchants": len(self.merchant_store),
            "card_bytes": card_bytes,
            "bytes_per_card": card_bytes / cards if cards else 0.0,
            "merchant_bytes": self.merchant_store.nbytes(),
            **self._counters,
        }

    def fit_transform_history(self, frame: pd.DataFrame, chunk_rows: int = 200_000) -> pd.DataFrame:
        """Features of a whole historical frame, replayed in event-time order (for training).

        Rows are sorted by event time (stable), fed through :meth:`transform` in chunks,
        and the result comes back in ``frame``'s order and index. State is updated as if
        the history had streamed in, so scoring can continue from it.
        """
        if chunk_rows < 1:
            raise ValidationError("chunk_rows", "must be >= 1")
        if "event_time" not in frame.columns:
            raise ValidationError("event_time", "required column is missing from the transaction frame")
        order = np.argsort(frame["event_time"].to_numpy(), kind="stable")
        ordered = frame.iloc[order]
        parts = [self.transform(ordered.iloc[i : i + chunk_rows]) for i in range(0, len(frame), chunk_rows)]
        values = np.concatenate([p.to_numpy() for p in parts]) if parts else np.empty((0, 0), np.float32)
        out = np.empty_like(values)
        out[order] = values
        names = parts[0].columns if parts else self.feature_names()
        return pd.DataFrame(out, columns=names, index=frame.index)


__all__ = ["FeaturePipeline"]
