"""Input checks and the features of a transaction alone (no state).

:func:`prepare` turns a transaction frame (``schema.to_frame`` output, or the same columns
from Spark or a file) into plain arrays once per batch; every other feature module works
on those arrays. Identifiers are hashed to 64-bit integers with pandas' fixed-key SipHash,
which is the same in every process, so hashed values can be stored and compared later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraudguard.errors import ValidationError
from fraudguard.schema import CHANNELS, MERCHANT_CATEGORIES

REQUIRED_COLUMNS: tuple[str, ...] = ("card_id", "event_time", "amount", "merchant_id")
EARTH_RADIUS_KM = 6371.0088
US_PER_S = 1_000_000
_CATEGORY_INDEX = {c: i for i, c in enumerate(MERCHANT_CATEGORIES)}
_OTHER = _CATEGORY_INDEX["other"]
SMALL_BATCH = 64
"""Batches up to this size take plain-Python paths with the same results: pandas' per-call
set-up (Series construction, hashing tables) costs more than the work on a few rows."""
_HASHES: dict[str, int] = {}
_HASH_CACHE_MAX = 200_000
try:  # what pd.util.hash_array calls for strings (pandas' own module; the public path otherwise)
    from pandas._libs.hashing import hash_object_array as _siphash
except ImportError:  # pragma: no cover
    _siphash = None
_PANDAS_HASH_KEY = "0123456789123456"
"""``pd.util.hash_array``'s default key."""
_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Prepared:
    """Columns of one batch as arrays; ``t_us`` is event time in microseconds since epoch."""

    card_id: np.ndarray
    merchant_id: np.ndarray
    t_us: np.ndarray
    amount: np.ndarray
    merchant_hash: np.ndarray
    category: np.ndarray
    device_hash: np.ndarray
    merchant_lat: np.ndarray
    merchant_lon: np.ndarray
    customer_lat: np.ndarray
    customer_lon: np.ndarray
    channel: np.ndarray
    card_present: np.ndarray
    is_fraud: np.ndarray

    def __len__(self) -> int:
        return len(self.t_us)

    def take(self, rows: np.ndarray | slice) -> Prepared:
        """The same batch restricted to ``rows`` (positions)."""
        return Prepared(**{f: getattr(self, f)[rows] for f in self.__dataclass_fields__})


def hash_ids(values: np.ndarray) -> np.ndarray:
    """Stable 64-bit hashes of identifiers; missing (None/NaN) values hash to 0."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim == 1 and len(arr) <= SMALL_BATCH:
        small = _hash_small(arr)
        if small is not None:
            return small
    missing = pd.isna(arr)
    out = pd.util.hash_array(arr)
    out[missing] = 0
    return out


def hash_id(value: object) -> int:
    """:func:`hash_ids` of one identifier (one transaction's path): cached, and a new string is
    hashed by the SipHash behind ``pd.util.hash_array`` and its final mix, without its set-up
    (~2 µs instead of ~17; ``test_small_batch.py`` compares both on thousands of strings)."""
    if type(value) is str:
        cached = _HASHES.get(value)
        if cached is not None:
            return cached
        if _siphash is not None:
            h = int(_siphash(np.array([value], dtype=object), _PANDAS_HASH_KEY, "utf8")[0])
            h ^= h >> 30
            h = h * 0xBF58476D1CE4E5B9 & _U64
            h ^= h >> 27
            h = h * 0x94D049BB133111EB & _U64
            h ^= h >> 31
            if len(_HASHES) >= _HASH_CACHE_MAX:
                _HASHES.clear()
            _HASHES[value] = h
            return h
    return int(hash_ids(np.array([value], dtype=object))[0])


def _hash_small(arr: np.ndarray) -> np.ndarray | None:
    """Hashes of a few string ids from a cache of ``pd.util.hash_array`` results (same values:
    the hash of an element depends on that element only); ``None`` if an id is not a string."""
    items = arr.tolist()
    if not all(type(v) is str for v in items):
        return None
    todo = [v for v in items if v not in _HASHES]
    if todo:
        if len(_HASHES) + len(todo) > _HASH_CACHE_MAX:
            _HASHES.clear()
        # categorize=False: the same hashes without building a categorical first
        hashed = pd.util.hash_array(np.asarray(todo, dtype=object), categorize=False)
        _HASHES.update(zip(todo, hashed.tolist(), strict=True))
    return np.fromiter(map(_HASHES.__getitem__, items), np.uint64, len(items))


def _float_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    col = frame[name]
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "fiub":  # already numeric: to_numeric is a no-op
        return col.to_numpy(dtype=np.float64)
    try:
        return pd.to_numeric(col, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise ValidationError(name, f"must be numeric: {e}") from e


def _categories(cat: np.ndarray) -> np.ndarray:
    """Index into :data:`MERCHANT_CATEGORIES` per row; unknown or missing -> ``other``."""
    if len(cat) <= SMALL_BATCH:
        get = _CATEGORY_INDEX.get
        return np.fromiter((get(c, _OTHER) if isinstance(c, str) else _OTHER for c in cat.tolist()), np.int8, len(cat))
    return pd.Series(cat, dtype=object).map(_CATEGORY_INDEX).fillna(_OTHER).to_numpy(dtype=np.int8)


def _event_time_us(frame: pd.DataFrame) -> np.ndarray:
    col = frame["event_time"]
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(col.dtype):
            raise ValidationError("event_time", "must be time-zone aware (UTC); got naive datetimes")
        raise ValidationError("event_time", f"must be datetime64 with a time zone, got dtype {col.dtype}")
    values = col.array.as_unit("us").asi8  # NaT is the int64 minimum in any unit
    missing = values == np.iinfo(np.int64).min
    if missing.any():
        raise ValidationError("event_time", f"missing in {int(missing.sum())} rows")
    return values


def _id_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    arr = frame[name].to_numpy(dtype=object)
    if len(arr) <= SMALL_BATCH and all(type(v) is str for v in arr.tolist()):
        return arr
    if pd.isna(arr).any():
        raise ValidationError(name, "must not be missing")
    return arr


def prepare(frame: pd.DataFrame) -> Prepared:
    """Validate a transaction frame and extract arrays; the frame is not modified.

    Raises :class:`ValidationError` naming the column when a required column is absent or
    a value cannot be used. Optional columns may be missing: defaults are those of
    :class:`fraudguard.schema.Transaction`.
    """
    for name in REQUIRED_COLUMNS:
        if name not in frame.columns:
            raise ValidationError(name, "required column is missing from the transaction frame")
    n = len(frame)
    amount = _float_column(frame, "amount")
    if not np.isfinite(amount).all():
        raise ValidationError("amount", "must be a finite number in every row")
    merchant_id = _id_column(frame, "merchant_id")
    cat = (
        frame["merchant_category"].to_numpy(dtype=object)
        if "merchant_category" in frame
        else np.full(n, "other", object)
    )
    category = _categories(cat)
    channel = frame["channel"].to_numpy(dtype=object) if "channel" in frame else np.full(n, "pos", object)
    if "card_present" in frame:
        cp = frame["card_present"]
        if cp.isna().any():
            raise ValidationError("card_present", "must not be missing")
        card_present = cp.to_numpy().astype(bool)
    else:
        card_present = np.ones(n, dtype=bool)
    device = frame["device_id"].to_numpy(dtype=object) if "device_id" in frame else np.full(n, None, object)
    mlat, mlon = _float_column(frame, "merchant_lat"), _float_column(frame, "merchant_lon")
    return Prepared(
        card_id=_id_column(frame, "card_id"),
        merchant_id=merchant_id,
        t_us=_event_time_us(frame),
        amount=amount,
        merchant_hash=hash_ids(merchant_id),
        category=category,
        device_hash=hash_ids(device),
        # Stored as float32 in card state; rounding here keeps batch and state values equal.
        merchant_lat=mlat.astype(np.float32),
        merchant_lon=mlon.astype(np.float32),
        customer_lat=_float_column(frame, "customer_lat"),
        customer_lon=_float_column(frame, "customer_lon"),
        channel=channel,
        card_present=card_present,
        is_fraud=_float_column(frame, "is_fraud"),
    )


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km; NaN where any coordinate is NaN."""
    p1, p2 = np.radians(lat1.astype(np.float64)), np.radians(lat2.astype(np.float64))
    dphi = p2 - p1
    dlmb = np.radians(lon2.astype(np.float64) - lon1.astype(np.float64))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def stateless_features(b: Prepared) -> dict[str, np.ndarray]:
    """Time-of-day, amount and encoding features, in :data:`names.STATELESS_FEATURES` order.

    Time features are in UTC: the schema carries no local time zone, and a model only
    needs a consistent clock. Night is 22:00-06:00.
    """
    secs = b.t_us // US_PER_S
    hour = (secs // 3600) % 24
    dow = (secs // 86400 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    out: dict[str, np.ndarray] = {
        "amount": b.amount,
        "log_amount": np.log1p(b.amount),
        "hour_of_day": hour,
        "day_of_week": dow,
        "is_weekend": dow >= 5,
        "is_night": (hour >= 22) | (hour < 6),
        "card_present": b.card_present,
    }
    for c in CHANNELS:
        out[f"channel_{c}"] = b.channel == c
    for i, c in enumerate(MERCHANT_CATEGORIES):
        out[f"category_{c}"] = b.category == i
    out["customer_merchant_km"] = haversine_km(b.customer_lat, b.customer_lon, b.merchant_lat, b.merchant_lon)
    return out
