"""Where per-card and per-merchant state lives, and its byte layout.

State values are bytes: a card's state is a 16-byte header (events, days, first seen),
its recent events as a packed NumPy record array (:data:`CARD_DTYPE`, 41 bytes per event)
and its daily amount buckets (:data:`DAY_DTYPE`, 44 bytes per day), and a merchant's state is three record
arrays (hourly buckets, daily buckets, fraud labels) behind a 12-byte header. Bytes, rather than
Python objects, because the same state goes to Redis and into Spark's state store, and
because ``len(value)`` is then the honest answer to "how many bytes per card".

:class:`StateStore` is the small contract every backend implements; this module holds the
in-process one, and :class:`FeatureStores`, the card + merchant pair a pipeline keeps (and
clears, whatever the backend, when a model brings another feature configuration). The
Redis one is :mod:`fraudguard.io.redis_state`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from fraudguard.errors import StateStoreError

CARD_DTYPE = np.dtype(
    [
        ("t", "<i8"),
        ("amount", "<f8"),
        ("merchant", "<u8"),
        ("device", "<u8"),
        ("lat", "<f4"),
        ("lon", "<f4"),
        ("category", "i1"),
    ]
)
"""One past card event: time (µs), amount, merchant/device hash (0 = none), merchant location, category."""

DAY_DTYPE = np.dtype(
    [("d", "<i4"), ("n", "<u4"), ("f", "<u4"), ("s", "<f8"), ("ss", "<f8"), ("ls", "<f8"), ("lss", "<f8")]
)
"""A card's transactions of one UTC day (index since epoch): count, frauds (labels the rows
brought, see ``label_delay_s``), sum and sum of squares of amounts, and of ``log1p(amount)``."""

NO_FIRST = np.iinfo(np.int64).max
"""``first`` of a card never seen."""

_CARD_HEADER = np.dtype([("ne", "<u4"), ("nd", "<u4"), ("first", "<i8")])


class CardState(NamedTuple):
    """Several cards' state: events and day buckets of card 0, then 1, ... with counts per card."""

    events: np.ndarray
    counts: np.ndarray
    days: np.ndarray
    day_counts: np.ndarray
    first: np.ndarray
    """Time (µs) of each card's first event, :data:`NO_FIRST` if none."""


BUCKET_DTYPE = np.dtype([("h", "<i8"), ("n", "<f8"), ("amount", "<f8")])
"""Merchant transactions in one time bucket (``h`` = hour or day index since epoch)."""

LABEL_DTYPE = np.dtype([("eh", "<i8"), ("kh", "<i8"), ("n", "<f8")])
"""``n`` fraud labels for merchant transactions of bucket ``eh``, known from bucket ``kh``."""


class MerchantState(NamedTuple):
    """Several merchants' state: records of merchant 0, then 1, ... and counts per merchant."""

    hourly: np.ndarray
    hourly_count: np.ndarray
    daily: np.ndarray
    daily_count: np.ndarray
    labels: np.ndarray
    label_count: np.ndarray


_HEADER = np.dtype([("nh", "<u4"), ("nd", "<u4"), ("nl", "<u4")])


@runtime_checkable
class StateStore(Protocol):
    """A key -> bytes store with batch access; keys are card or merchant ids."""

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values in the order of ``keys`` (``None`` when absent)."""
        ...

    def put_many(self, items: Mapping[str, bytes], *, expire_at: float | None = None) -> None:
        """Write values. ``expire_at`` is an event-time clock (seconds since epoch) after
        which the keys may be dropped; stores with their own wall-clock TTL ignore it."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Remove keys (absent keys are ignored)."""
        ...

    def expire(self, now: float) -> int:
        """Drop keys whose ``expire_at`` is before ``now``; return how many went."""
        ...

    def __len__(self) -> int: ...

    def is_empty(self) -> bool:
        """Whether the store holds no key (cheap, unlike ``len`` on a remote store)."""
        ...

    def nbytes(self) -> int:
        """Bytes held in values (keys and container overhead excluded)."""
        ...

    def clear(self) -> int:
        """Delete every key of this store (a new feature configuration); return how many went."""
        ...


class InMemoryStateStore:
    """State in a Python dict: for the local engine, the API and training.

    Parameters
    ----------
    max_keys
        If set, :meth:`put_many` refuses to grow beyond this many keys (a guard against
        an unbounded key space such as a card-testing attack with random card numbers).
    """

    def __init__(self, max_keys: int | None = None) -> None:
        self._values: dict[str, bytes] = {}
        self._expire_at: dict[str, float] = {}
        self._max_keys = max_keys

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return list(map(self._values.get, keys))

    def put_many(self, items: Mapping[str, bytes], *, expire_at: float | None = None) -> None:
        if self._max_keys is not None and len(self._values) + len(items) > self._max_keys:
            new = sum(1 for k in items if k not in self._values)
            if len(self._values) + new > self._max_keys:
                raise StateStoreError(f"in-memory state store is full ({self._max_keys} keys)")
        self._values.update(items)
        if expire_at is not None:
            self._expire_at.update(dict.fromkeys(items, expire_at))

    def delete(self, keys: Sequence[str]) -> None:
        for k in keys:
            self._values.pop(k, None)
            self._expire_at.pop(k, None)

    def expire(self, now: float) -> int:
        gone = [k for k, at in self._expire_at.items() if at < now]
        self.delete(gone)
        return len(gone)

    def __len__(self) -> int:
        return len(self._values)

    def is_empty(self) -> bool:
        return not self._values

    def nbytes(self) -> int:
        return sum(map(len, self._values.values()))

    def clear(self) -> int:
        n = len(self._values)
        self._values.clear()
        self._expire_at.clear()
        return n

    def snapshot(self) -> dict[str, bytes]:
        """A copy of every key and value (tests compare states with it)."""
        return dict(self._values)


class FeatureStores(NamedTuple):
    """The card and the merchant state store of one feature pipeline (distinct stores)."""

    card: StateStore
    merchant: StateStore

    @classmethod
    def in_memory(cls) -> FeatureStores:
        """Two fresh in-process stores."""
        return cls(InMemoryStateStore(), InMemoryStateStore())

    def clear(self) -> int:
        """Empty both stores, whatever their kind; return how many keys went."""
        return self.card.clear() + self.merchant.clear()


def decode_cards(values: Sequence[bytes | None]) -> CardState:
    """Concatenate card states (``None``/empty: a new card) into one :class:`CardState`."""
    h = _CARD_HEADER.itemsize
    n = len(values)
    present = [v for v in values if v]
    has = np.fromiter(map(bool, values), bool, n)
    try:
        heads = np.frombuffer(b"".join([v[:h] for v in present]), _CARD_HEADER)
        ne, nd = heads["ne"].astype(np.int64), heads["nd"].astype(np.int64)
        ends_e = h + ne * CARD_DTYPE.itemsize
        if (np.fromiter(map(len, present), np.int64, len(present)) != ends_e + nd * DAY_DTYPE.itemsize).any():
            raise StateStoreError("card state has a size that does not match its header")
        ee = ends_e.tolist()
        events = b"".join([v[h:e] for v, e in zip(present, ee, strict=True)])
        days = b"".join([v[e:] for v, e in zip(present, ee, strict=True)])
    except (TypeError, ValueError) as e:
        raise StateStoreError(f"card state is not readable: {e}") from e
    counts, day_counts, first = np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(n, NO_FIRST, np.int64)
    counts[has], day_counts[has], first[has] = ne, nd, heads["first"]
    return CardState(np.frombuffer(events, CARD_DTYPE), counts, np.frombuffer(days, DAY_DTYPE), day_counts, first)


def encode_cards(state: CardState) -> list[bytes]:
    """Bytes per card (inverse of :func:`decode_cards`)."""
    heads = np.empty(len(state.counts), _CARD_HEADER)
    heads["ne"], heads["nd"], heads["first"] = state.counts, state.day_counts, state.first
    h = _CARD_HEADER.itemsize
    hb = heads.tobytes()
    parts = []
    for arr, count, dtype in ((state.events, state.counts, CARD_DTYPE), (state.days, state.day_counts, DAY_DTYPE)):
        blob = np.ascontiguousarray(arr, dtype=dtype).tobytes()
        ends = (np.cumsum(count) * dtype.itemsize).tolist()
        parts.append((blob, [0, *ends[:-1]], ends))
    (b1, s1, e1), (b2, s2, e2) = parts
    return [hb[i * h : (i + 1) * h] + b1[s1[i] : e1[i]] + b2[s2[i] : e2[i]] for i in range(len(heads))]


def card_events(value: bytes | None) -> np.ndarray:
    """The event records of one card's state (tests and tools inspect them)."""
    return decode_cards([value]).events


def decode_merchants(values: Sequence[bytes | None]) -> MerchantState:
    """Many merchants' states, concatenated in the order of ``values``."""
    h = _HEADER.itemsize
    sizes = (BUCKET_DTYPE.itemsize, BUCKET_DTYPE.itemsize, LABEL_DTYPE.itemsize)
    present = [v for v in values if v]
    has = np.fromiter(map(bool, values), bool, len(values))
    counts = [np.zeros(len(values), np.int64) for _ in range(3)]
    try:
        heads = np.frombuffer(b"".join([v[:h] for v in present]), _HEADER)
        nh, nd, nl = (heads[f].astype(np.int64) for f in ("nh", "nd", "nl"))
        ends_h = h + nh * sizes[0]
        ends_d = ends_h + nd * sizes[1]
        if (np.fromiter(map(len, present), np.int64, len(present)) != ends_d + nl * sizes[2]).any():
            raise StateStoreError("merchant state has a size that does not match its header")
        eh, ed = ends_h.tolist(), ends_d.tolist()
        hourly = b"".join([v[h:a] for v, a in zip(present, eh, strict=True)])
        daily = b"".join([v[a:b] for v, a, b in zip(present, eh, ed, strict=True)])
        labels = b"".join([v[b:] for v, b in zip(present, ed, strict=True)])
    except (TypeError, ValueError) as e:
        raise StateStoreError(f"merchant state is not readable: {e}") from e
    for c, n in zip(counts, (nh, nd, nl), strict=True):
        c[has] = n
    return MerchantState(
        np.frombuffer(hourly, BUCKET_DTYPE),
        counts[0],
        np.frombuffer(daily, BUCKET_DTYPE),
        counts[1],
        np.frombuffer(labels, LABEL_DTYPE),
        counts[2],
    )


def encode_merchants(state: MerchantState) -> list[bytes]:
    """Bytes per merchant (inverse of :func:`decode_merchants`)."""
    heads = np.empty(len(state.hourly_count), _HEADER)
    heads["nh"], heads["nd"], heads["nl"] = state.hourly_count, state.daily_count, state.label_count
    h = _HEADER.itemsize
    hb = heads.tobytes()
    parts = []
    for arr, count in (
        (state.hourly, state.hourly_count),
        (state.daily, state.daily_count),
        (state.labels, state.label_count),
    ):
        blob = np.ascontiguousarray(arr).tobytes()
        ends = (np.cumsum(count) * arr.dtype.itemsize).tolist()
        parts.append((blob, [0, *ends[:-1]], ends))
    (b1, s1, e1), (b2, s2, e2), (b3, s3, e3) = parts
    return [
        hb[i * h : (i + 1) * h] + b1[s1[i] : e1[i]] + b2[s2[i] : e2[i]] + b3[s3[i] : e3[i]] for i in range(len(heads))
    ]
