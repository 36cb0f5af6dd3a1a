"""Feature state in Redis: the :class:`~fraudguard.features.state.StateStore` for engines
that share card and merchant state across processes (several local engine workers, the
API's what-if scoring next to a running engine).

Values are the pipeline's own bytes (packed NumPy records), written with pipelined
``SET key value EX ttl`` and read with one ``MGET`` per batch, so a batch costs two round
trips whatever its size. Keys live under a prefix, which is how several pipelines or
tests share one Redis without touching each other's keys; :func:`feature_stores` owns the
prefixes the engines and the API share (``fg:card:``, ``fg:merchant:``). Expiry is
Redis's own per-key TTL in wall-clock seconds; :meth:`expire` is therefore a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import redis

from fraudguard.errors import StateStoreError
from fraudguard.features.state import FeatureStores

_CHUNK = 10_000

CARD_PREFIX = "fg:card:"
"""Key prefix of per-card feature state, shared by every engine worker and the API."""
MERCHANT_PREFIX = "fg:merchant:"
"""Key prefix of per-merchant feature state."""


class RedisStateStore:
    """Key -> bytes store in Redis under ``prefix``.

    Parameters
    ----------
    url
        ``redis://host:port/db``.
    prefix
        Namespace of this store's keys; use distinct prefixes for cards and merchants.
    ttl_s
        Time to live of every key written, in seconds (``None``: keys never expire). The
        default, 40 days, outlives the longest state a feature reads (31 days of card day
        buckets, 35 days of merchant risk buckets).
    client
        An existing client to share a connection pool (``url`` is then ignored).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "fraudguard:state:",
        ttl_s: int | None = 40 * 86400,
        client: redis.Redis | None = None,
    ) -> None:
        if not prefix:
            raise StateStoreError("RedisStateStore needs a non-empty key prefix")
        if ttl_s is not None and ttl_s <= 0:
            raise StateStoreError("RedisStateStore ttl_s must be positive or None")
        self.prefix = prefix
        self.ttl_s = ttl_s
        self._redis = client if client is not None else redis.Redis.from_url(url)

    def _key(self, key: str) -> bytes:
        return (self.prefix + key).encode()

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        out: list[bytes | None] = []
        try:
            for i in range(0, len(keys), _CHUNK):
                out.extend(self._redis.mget([self._key(k) for k in keys[i : i + _CHUNK]]))  # type: ignore[arg-type]
        except redis.RedisError as e:
            raise StateStoreError(f"Redis read of {len(keys)} keys failed: {e}") from e
        return out

    def put_many(self, items: Mapping[str, bytes], *, expire_at: float | None = None) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for n, (k, v) in enumerate(items.items(), start=1):
                pipe.set(self._key(k), v, ex=self.ttl_s)
                if n % _CHUNK == 0:
                    pipe.execute()
            pipe.execute()
        except redis.RedisError as e:
            raise StateStoreError(f"Redis write of {len(items)} keys failed: {e}") from e

    def delete(self, keys: Sequence[str]) -> None:
        try:
            for i in range(0, len(keys), _CHUNK):
                if chunk := [self._key(k) for k in keys[i : i + _CHUNK]]:
                    self._redis.unlink(*chunk)
        except redis.RedisError as e:
            raise StateStoreError(f"Redis delete failed: {e}") from e

    def expire(self, now: float) -> int:
        """Redis expires keys itself (``ttl_s``); nothing to do here."""
        return 0

    def _scan(self) -> Iterator[bytes]:
        try:
            yield from self._redis.scan_iter(match=self.prefix.replace("*", r"\*") + "*", count=1000)
        except redis.RedisError as e:
            raise StateStoreError(f"Redis scan failed: {e}") from e

    def __len__(self) -> int:
        """Keys under the prefix (a SCAN: for stats, not for hot paths)."""
        return sum(1 for _ in self._scan())

    def is_empty(self) -> bool:
        """No key under the prefix (stops at the first one found)."""
        return next(iter(self._scan()), None) is None

    def nbytes(self) -> int:
        """Bytes in values under the prefix (SCAN + pipelined STRLEN: for stats only)."""
        total, batch = 0, []
        pipe = self._redis.pipeline(transaction=False)
        try:
            for key in self._scan():
                batch.append(key)
                if len(batch) == _CHUNK:
                    for k in batch:
                        pipe.strlen(k)
                    total += sum(pipe.execute())
                    batch = []
            for k in batch:
                pipe.strlen(k)
            total += sum(pipe.execute()) if batch else 0
        except redis.RedisError as e:
            raise StateStoreError(f"Redis STRLEN failed: {e}") from e
        return total

    def clear(self) -> int:
        """Delete every key under the prefix (a new feature configuration, tests); returns how many."""
        keys = [k.decode()[len(self.prefix) :] for k in self._scan()]
        self.delete(keys)
        return len(keys)

    def close(self) -> None:
        """Release the connection pool."""
        self._redis.close()


def feature_stores(url: str) -> FeatureStores:
    """The card and merchant state stores every process scoring the stream shares.

    The one place that names their key prefixes: the local engine's workers and the API's
    scoring must read and write the same keys, or a card's history would split in two.
    """
    return FeatureStores(RedisStateStore(url, prefix=CARD_PREFIX), RedisStateStore(url, prefix=MERCHANT_PREFIX))
