"""The one contract every sink implements, and the one way a batch reaches all of them.

Every writer of predictions (the local engine, the Spark engine's ``foreachBatch``, the
API's recorded calls) hands a batch to :meth:`SinkSet.deliver`, so every one of them
keeps the same rules:

- every sink gets ``write`` and then ``flush``, and ``deliver`` returns only once all of
  them have finished: a caller commits its source offsets (or answers its client) after
  that, never before, so a crash replays the batch;
- sinks sharing a Kafka producer (the Kafka sinks and the DLQ) form one task, written in
  turn and then flushed in turn (their messages travel together); every other sink
  (PostgreSQL, Parquet) is its own task, and the tasks run concurrently, so PostgreSQL's
  round trips overlap the fsyncs and the broker's acknowledgements;
- a task stops at its first failure (the next flush on the same broker would only wait
  out its own timeout), but a failure does not stop the other tasks: the first error is
  raised after ALL have finished, because the caller retries the whole batch, and a
  retry must not race a sink still writing the previous attempt;
- the optional ``ledger`` sink is written last, and only when every other sink has
  flushed: it is the record a caller reads back to know a batch was delivered (the API's
  idempotency check reads PostgreSQL), so it must never hold a batch the others lack.

Replays are normal (a crash between flush and commit, a retry), so every sink must be
idempotent on ``transaction_id``: upserts, deterministic file names, consumers that
de-duplicate.

The prediction frame is converted to Arrow once per batch (:meth:`PredictionBatch.of`)
and handed to every sink with it, so PostgreSQL and Parquet store the same types.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from fraudguard.errors import FraudGuardError
from fraudguard.records import predictions_to_arrow

if TYPE_CHECKING:
    from fraudguard.io.sinks.dlq import DeadLetter, DeadLetterWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """One micro-batch of predictions in the two forms sinks read.

    ``frame`` has :data:`fraudguard.records.PREDICTION_COLUMNS`; ``table`` is its Arrow form
    (:func:`fraudguard.records.predictions_to_arrow`, :data:`~fraudguard.records.PREDICTION_SCHEMA`),
    built once by :meth:`of`.
    """

    frame: pd.DataFrame
    table: pa.Table

    @classmethod
    def of(cls, frame: pd.DataFrame) -> PredictionBatch:
        """Convert ``frame`` once; raises :class:`~fraudguard.errors.ValidationError` naming a bad column."""
        return cls(frame, predictions_to_arrow(frame))

    def __len__(self) -> int:
        return len(self.frame)


@runtime_checkable
class Sink(Protocol):
    """Where predictions go (PostgreSQL, Parquet, Kafka, the challenger datasets)."""

    name: str

    def setup(self) -> None:
        """Create what the sink needs (tables, directories, topics); safe to call twice."""

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        """Add one micro-batch. ``batch_id`` is stable across replays of the same input
        (for example ``"<topic>-<partition>-<first offset>"`` or Spark's batch id)."""

    def flush(self) -> None:
        """Make everything written so far durable; raise if it cannot."""

    def close(self) -> None:
        """Release connections; after a flush, loses nothing."""


def run_all(tasks: Sequence[Callable[[], object]], pool: ThreadPoolExecutor | None) -> None:
    """Run ``tasks`` concurrently (the first inline); wait for all, then raise the first error."""
    if len(tasks) <= 1 or pool is None:
        first: BaseException | None = None
        for task in tasks:
            try:
                task()
            except BaseException as e:
                first = first or e
        if first is not None:
            raise first
        return
    futures = [pool.submit(task) for task in tasks[1:]]
    first = None
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


def _in_turn(steps: list[Callable[[], None]]) -> None:
    for step in steps:
        step()


class SinkSet:
    """Every sink of one writer, and :meth:`deliver`, the one way a batch reaches them.

    Parameters
    ----------
    sinks
        Prediction sinks, written concurrently (see the module docstring).
    dlq
        Where rejected messages go (``None``: a batch's dead letters are only logged).
    ledger
        A sink written only after every other one has flushed (the API's PostgreSQL).
    """

    def __init__(
        self, sinks: Sequence[Sink], dlq: DeadLetterWriter | None = None, *, ledger: Sink | None = None
    ) -> None:
        self.sinks = list(sinks)
        self.dlq = dlq
        self.ledger = ledger
        self._pool: ThreadPoolExecutor | None = None

    def __iter__(self) -> Iterator[Sink]:
        """Every prediction sink, the ledger last."""
        yield from self.sinks
        if self.ledger is not None:
            yield self.ledger

    def __len__(self) -> int:
        return len(self.sinks) + (self.ledger is not None)

    def setup(self) -> None:
        """Set every sink up (tables, directories); safe to call twice."""
        for sink in self:
            sink.setup()

    def deliver(self, batch: PredictionBatch | None, dead_letters: Sequence[DeadLetter], batch_id: str) -> None:
        """Write and flush ``batch`` to every sink and ``dead_letters`` to the DLQ.

        Returns once all have finished; raises the first error after all have finished.
        ``batch`` is ``None`` when every message of the batch was rejected.
        """
        groups: dict[int, list[Callable[[], None]]] = {}

        def add(owner: object, step: Callable[[], None]) -> None:
            groups.setdefault(id(owner), []).append(step)

        dlq = self.dlq if dead_letters else None
        if dead_letters and dlq is None:
            log.warning("batch %s: %d dead letters and no dead-letter writer", batch_id, len(dead_letters))
        if batch is not None:
            for sink in self.sinks:
                add(getattr(sink, "producer", sink), functools.partial(sink.write, batch, batch_id=batch_id))
        if dlq is not None:
            add(dlq.producer, functools.partial(dlq.write, list(dead_letters)))
        if batch is not None:  # flushes after the group's writes: one producer's messages travel together
            for sink in self.sinks:
                add(getattr(sink, "producer", sink), sink.flush)
        if dlq is not None:
            add(dlq.producer, dlq.flush)
        tasks = [functools.partial(_in_turn, steps) for steps in groups.values()]
        if len(tasks) > 1 and self._pool is None:
            self._pool = ThreadPoolExecutor(max(1, len(self.sinks)), thread_name_prefix="fraudguard-sink")
        run_all(tasks, self._pool)
        if batch is not None and self.ledger is not None:
            self.ledger.write(batch, batch_id=batch_id)
            self.ledger.flush()

    def close(self) -> None:
        """Stop the delivery threads and close every sink (errors are logged: closing anyway)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for sink in self:
            try:
                sink.close()
            except FraudGuardError as e:
                log.warning("closing sink %s: %s", getattr(sink, "name", sink), e)
