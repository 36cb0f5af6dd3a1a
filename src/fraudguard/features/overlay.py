"""A read-through cache over a state store, one per batch.

Blocks of one batch must see each other's state writes, and the store should be written
once at the end of the batch (or never, for what-if scoring): this overlay does both.
"""

from __future__ import annotations

from collections.abc import Sequence

from fraudguard.features.state import StateStore


class Overlay:
    """Read-through cache over a store: blocks of one batch see each other's writes, and the
    store is written once at the end (or never, for a what-if)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.cache: dict[str, bytes | None] = {}
        self.dirty: dict[str, bytes] = {}

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not self.cache:
            values = self.store.get_many(keys)
            self.cache = dict(zip(keys, values, strict=True))
            return values
        missing = [k for k in keys if k not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.store.get_many(missing), strict=True))
        dirty, cache = self.dirty, self.cache
        return [dirty[k] if k in dirty else cache[k] for k in keys]

    def put_many(self, keys: Sequence[str], values: Sequence[bytes]) -> None:
        """Values for keys; empty values (nothing left to keep) are skipped."""
        if not all(values):
            pairs = [(k, v) for k, v in zip(keys, values, strict=True) if v]
            keys, values = [k for k, _ in pairs], [v for _, v in pairs]
        self.dirty.update(zip(keys, values, strict=True))

    def flush(self, expire_at: float) -> None:
        if self.dirty:
            self.store.put_many(self.dirty, expire_at=expire_at)
