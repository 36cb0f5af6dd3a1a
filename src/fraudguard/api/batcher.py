"""Micro-batching of concurrent scoring requests.

Scoring one row costs almost as much as scoring a hundred (per-call overhead), so
concurrent requests share one call in a worker thread, then each request's future gets its
slice. One worker runs at a time, which also serialises updates of the feature state:
requests are applied in arrival order.

Batching is adaptive: a request that finds the worker free is scored at once, with
whatever else is already queued (after one turn of the event loop, so requests read in
the same turn come along); while the worker is busy, new requests queue up and form the
next batch. So a lone request pays no wait and batches grow only under load.
``max_wait_s`` > 0 adds a fixed wait for company (the old behaviour, off by default: at
concurrency 1 it was pure latency). A lone submission that ``inline`` accepts (one
transaction, nothing that waits on I/O) is processed on the event loop itself: two
thread hand-offs cost more than scoring one transaction (~0.1 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Process = Callable[[list[tuple[Sequence[T], bool]]], list[list[R]]]
"""``process([(items, record), ...]) -> [results, ...]``, one list per submission, run in a thread.

Submissions stay distinguishable so the callee can keep them independent where that
matters (a what-if must not see another request's transactions as card history)."""


class MicroBatcher(Generic[T, R]):
    """Collects submissions and calls ``process`` once per batch.

    Parameters
    ----------
    process
        The batch function; it receives items and, per item, whether it is recorded.
    max_items
        Most rows in one call (a submission larger than this still goes in one call).
    max_wait_s
        Longest a request waits for company once the worker is free (0: no wait).
    inline
        ``inline(items, record)``: True when a lone submission may be processed on the loop.
    """

    def __init__(
        self,
        process: Process[T, R],
        *,
        max_items: int = 512,
        max_wait_s: float = 0.0,
        inline: Callable[[Sequence[T], bool], bool] | None = None,
    ) -> None:
        self._process = process
        self._inline = inline
        self.max_items, self.max_wait_s = max_items, max_wait_s
        self._queue: asyncio.Queue[tuple[Sequence[T], bool, asyncio.Future[list[R]]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def start(self) -> None:
        """Start the worker task on the running loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._worker(), name="fraudguard-microbatcher")

    async def stop(self) -> None:
        """Stop the worker; pending submissions fail with ``CancelledError``."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def submit(self, items: Sequence[T], record: bool = True) -> list[R]:
        """Results for ``items``, scored together with whatever else is waiting."""
        if self._queue is None or self._task is None or self._task.done():
            raise RuntimeError("micro-batcher is not running")
        fut: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        await self._queue.put((items, record, fut))
        return await fut

    async def _worker(self) -> None:
        assert self._queue is not None
        q = self._queue
        while True:
            group = [await q.get()]
            size = len(group[0][0])
            if q.empty():
                await asyncio.sleep(0)  # let requests decoded in this loop turn join the batch
            deadline = asyncio.get_running_loop().time() + self.max_wait_s
            while size < self.max_items:
                try:
                    if q.empty():
                        timeout = deadline - asyncio.get_running_loop().time()
                        if timeout <= 0:
                            break
                        nxt = await asyncio.wait_for(q.get(), timeout)
                    else:
                        nxt = q.get_nowait()
                except TimeoutError:
                    break
                group.append(nxt)
                size += len(nxt[0])
            group = [g for g in group if not g[2].done()]  # cancelled clients
            if not group:
                continue
            try:
                if len(group) == 1 and self._inline is not None and self._inline(group[0][0], group[0][1]):
                    results = self._process([(group[0][0], group[0][1])])
                else:
                    results = await asyncio.to_thread(self._process, [(g[0], g[1]) for g in group])
            except Exception as e:
                for g in group:
                    if not g[2].done():
                        g[2].set_exception(e)
                continue
            self.batches += 1
            self.items += size
            for g, r in zip(group, results, strict=True):
                if g[2].done():
                    continue
                if isinstance(r, Exception):  # this submission alone was refused (e.g. 409)
                    g[2].set_exception(r)
                else:
                    g[2].set_result(r)
