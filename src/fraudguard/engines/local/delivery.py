"""Writing one batch to every sink and the DLQ, concurrently where that is safe.

Sinks sharing a Kafka producer (the two Kafka sinks and the DLQ) are written and flushed
in turn by one task: a producer's ``flush`` serves every delivery callback, so two
concurrent flushes could each miss the other's failures. Every other sink (PostgreSQL,
Parquet) gets its own task. The tasks run concurrently, so PostgreSQL's round trips
overlap the Parquet fsync and the broker's acknowledgements, and ``deliver`` returns only
when all have finished: the engine commits offsets after that, never before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from fraudguard.io.parquet_sink import reuse_prediction_table
from fraudguard.io.sinks.base import Sink
from fraudguard.io.sinks.dlq import DeadLetter, DeadLetterWriter


def _write_and_flush(sink: Sink, predictions: pd.DataFrame, batch_id: str) -> None:
    sink.write(predictions, batch_id=batch_id)
    sink.flush()


def _write_and_flush_dlq(dlq: DeadLetterWriter, letters: list[DeadLetter]) -> None:
    dlq.write(letters)
    dlq.flush()


def _run_in_turn(fns: list[Callable[[], None]]) -> None:
    for fn in fns:
        fn()


def run_all(tasks: Sequence[Callable[[], object]], pool: ThreadPoolExecutor) -> None:
    """Run ``tasks`` concurrently (the first inline); wait for all, then raise the first error.

    Waiting for every task before raising matters: the caller retries the whole batch,
    which must not race a sink still writing the previous attempt.
    """
    if len(tasks) <= 1:
        for task in tasks:
            task()
        return
    futures = [pool.submit(task) for task in tasks[1:]]
    first: BaseException | None = None
    try:
        tasks[0]()
    except BaseException as e:
        first = e
    for f in futures:
        try:
            f.result()
        except BaseException as e:
            first = first or e
    if first is not None:
        raise first


def deliver(
    sinks: Sequence[Sink],
    dlq: DeadLetterWriter,
    predictions: pd.DataFrame | None,
    letters: list[DeadLetter],
    batch_id: str,
    pool: ThreadPoolExecutor,
) -> None:
    """Write and flush ``predictions`` to every sink and ``letters`` to the DLQ; raise the first error.

    The prediction frame is converted to Arrow once for the PostgreSQL and Parquet sinks.
    """
    groups: dict[int, list[Callable[[], None]]] = {}
    if predictions is not None:
        for sink in sinks:
            owner = getattr(sink, "producer", sink)
            groups.setdefault(id(owner), []).append(functools.partial(_write_and_flush, sink, predictions, batch_id))
    if letters:
        groups.setdefault(id(dlq.producer), []).append(functools.partial(_write_and_flush_dlq, dlq, letters))
    tasks = [functools.partial(_run_in_turn, fns) for fns in groups.values()]
    if predictions is None:
        run_all(tasks, pool)
        return
    with reuse_prediction_table(predictions):
        run_all(tasks, pool)
