"""The micro-batcher: concurrent submissions share calls and each gets its own results back."""

from __future__ import annotations

import asyncio

import pytest

from fraudguard.api.batcher import MicroBatcher


def test_concurrent_submissions_share_calls_and_keep_their_results() -> None:
    calls: list[list[tuple[list[int], bool]]] = []

    def process(groups):  # type: ignore[no-untyped-def]
        calls.append([(list(items), rec) for items, rec in groups])
        return [[(x * 10, rec) for x in items] for items, rec in groups]

    async def main() -> list[list[tuple[int, bool]]]:
        b = MicroBatcher(process, max_items=64, max_wait_s=0.01)
        await b.start()
        try:
            return await asyncio.gather(*(b.submit([i, i + 1000], record=i % 2 == 0) for i in range(100)))
        finally:
            await b.stop()

    results = asyncio.run(main())
    assert results == [[(i * 10, i % 2 == 0), ((i + 1000) * 10, i % 2 == 0)] for i in range(100)]
    assert 1 < len(calls) < 100
    assert all(sum(len(items) for items, _ in c) <= 64 for c in calls)


def test_a_failing_batch_fails_its_requests_and_the_batcher_goes_on() -> None:
    def process(groups):  # type: ignore[no-untyped-def]
        if any(-1 in items for items, _ in groups):
            raise ValueError("bad batch")
        return [list(items) for items, _ in groups]

    async def main() -> list[int]:
        b = MicroBatcher(process, max_wait_s=0.0)
        await b.start()
        try:
            with pytest.raises(ValueError, match="bad batch"):
                await b.submit([-1])
            return await b.submit([7])
        finally:
            await b.stop()

    assert asyncio.run(main()) == [7]


def test_adaptive_batching_no_wait_alone_batches_while_busy() -> None:
    """Without a fixed wait, a lone request is scored at once and a busy worker's queue forms one batch."""
    import threading

    calls: list[int] = []
    release = threading.Event()

    def process(groups):  # type: ignore[no-untyped-def]
        calls.append(sum(len(items) for items, _ in groups))
        if len(calls) == 2:
            release.wait(5)  # keep the worker busy while more requests queue up
        return [list(items) for items, _ in groups]

    async def main() -> None:
        b = MicroBatcher(process, max_items=512)  # default: no fixed wait
        await b.start()
        try:
            assert await asyncio.wait_for(b.submit([1]), 5) == [1]  # alone: not held back
            busy = asyncio.create_task(b.submit([2]))
            while len(calls) < 2:
                await asyncio.sleep(0.001)
            queued = [asyncio.create_task(b.submit([i])) for i in range(10, 40)]
            await asyncio.sleep(0.05)
            release.set()
            assert await busy == [2]
            assert [await t for t in queued] == [[i] for i in range(10, 40)]
        finally:
            await b.stop()

    asyncio.run(main())
    assert calls[:2] == [1, 1]
    assert calls[2:] == [30]  # everything that queued while the worker was busy, in one call


def test_lone_submissions_the_predicate_accepts_run_on_the_loop() -> None:
    """No thread hop for a lone submission ``inline`` accepts; batches and refused ones use the worker thread."""
    import threading

    seen: list[tuple[list[int], bool]] = []

    def process(groups):  # type: ignore[no-untyped-def]
        on_loop = threading.current_thread() is threading.main_thread()
        seen.extend((list(items), on_loop) for items, _ in groups)
        if -1 in groups[0][0]:
            raise ValueError("bad lone call")
        return [[x + 1 for x in items] for items, _ in groups]

    async def main() -> tuple[list[int], list[int], list[list[int]]]:
        b = MicroBatcher(process, inline=lambda items, record: len(items) == 1 and not record)
        await b.start()
        try:
            lone = await b.submit([1], record=False)
            refused = await b.submit([2], record=True)
            with pytest.raises(ValueError, match="bad lone call"):
                await b.submit([-1], record=False)
            together = await asyncio.gather(b.submit([3], record=False), b.submit([4], record=False))
            return lone, refused, together
        finally:
            await b.stop()

    assert asyncio.run(main()) == ([2], [3], [[4], [5]])
    assert seen[:3] == [([1], True), ([2], False), ([-1], True)]
    assert seen[3:] == [([3], False), ([4], False)]  # two submissions: one call in the worker thread
