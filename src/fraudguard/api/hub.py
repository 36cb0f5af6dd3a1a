"""Fan-out of live messages to WebSocket subscribers, one bounded queue per subscriber.

Kafka reader threads hand messages to the event loop with ``loop.call_soon_threadsafe``;
:meth:`Hub.publish` then puts them on every subscriber's queue. A slow browser never
slows the reader or the other subscribers: when its queue is full the oldest message is
dropped (counted in :attr:`Hub.dropped`), because a live view wants the newest data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

CHANNELS: tuple[str, ...] = ("transactions", "alerts", "metrics", "cases")


class Hub:
    """Channels of text messages with any number of subscribers each."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subs: dict[str, set[asyncio.Queue[str]]] = {c: set() for c in CHANNELS}
        self.dropped = 0
        self.published = dict.fromkeys(CHANNELS, 0)

    def subscribe(self, channel: str) -> asyncio.Queue[str]:
        """A new queue receiving every later message of ``channel``."""
        q: asyncio.Queue[str] = asyncio.Queue(self.queue_size)
        self._subs[channel].add(q)
        return q

    def unsubscribe(self, channel: str, q: asyncio.Queue[str]) -> None:
        self._subs[channel].discard(q)

    def subscribers(self, channel: str) -> int:
        return len(self._subs[channel])

    def publish(self, channel: str, messages: Iterable[str]) -> None:
        """Queue messages for every subscriber (call on the event loop thread)."""
        msgs = list(messages)
        self.published[channel] += len(msgs)
        for q in self._subs[channel]:
            for m in msgs:
                if q.full():
                    q.get_nowait()
                    self.dropped += 1
                q.put_nowait(m)
