"""The pipeline's clock for state expiry: a watermark no single event (nor a few) can jump.

Before, the clock was the largest event time ever seen. One valid transaction dated 2099
moved it 73 years ahead and the next sweep expired every card and merchant (issue 11:
3,092 cards and 1,617 merchants; a 0.814 fraud score became 0.014). Upstream, the
decoders now refuse events far ahead of the wall clock, but a replay of history can still
meet one "now"-dated row; the clock itself must be robust.

:class:`QuorumWatermark` is the ``quorum``-th largest event time seen (64 by default):
fewer than ``quorum`` events, however far ahead, cannot move it. Until ``quorum`` events
were seen it is the smallest time seen. It only goes forward once the quorum is reached.
Cost is linear in the batch (one ``np.partition``), the state ``quorum`` integers; one event
at a time (``features/single.py``) it is one heap replace.
"""

from __future__ import annotations

import heapq

import numpy as np

DEFAULT_QUORUM = 64
NO_TIME = int(np.iinfo(np.int64).min)


class QuorumWatermark:
    """The ``quorum``-th largest event time (microseconds) seen so far."""

    def __init__(self, quorum: int = DEFAULT_QUORUM) -> None:
        if quorum < 1:
            raise ValueError("quorum must be >= 1")
        self.quorum = quorum
        self._top = np.empty(0, np.int64)
        self._heap: list[int] | None = None
        """The top times as a heap while events come one by one (``_top`` is then stale)."""
        self.value = NO_TIME

    def advance(self, t_us: np.ndarray) -> int:
        """Take a batch's event times into account; return the (new) watermark."""
        if len(t_us) == 0:
            return self.value
        if len(t_us) == 1 and len(self._top) == self.quorum:  # one event (single.py): the same multiset, cheaper
            if self._heap is None:
                self._heap = sorted(self._top.tolist())  # a sorted list is a heap
            t = int(t_us[0])
            if t > self._heap[0]:
                heapq.heapreplace(self._heap, t)
                self.value = max(self.value, self._heap[0])
            return self.value
        if self._heap is not None:
            self._top, self._heap = np.array(self._heap, np.int64), None
        top = np.concatenate([self._top, np.asarray(t_us, np.int64)])
        if len(top) > self.quorum:
            top = np.partition(top, len(top) - self.quorum)[-self.quorum :]
        self._top = top
        low = int(top.min())
        self.value = low if len(top) < self.quorum else max(self.value, low)
        return self.value


__all__ = ["DEFAULT_QUORUM", "NO_TIME", "QuorumWatermark"]
