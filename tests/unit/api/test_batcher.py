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
