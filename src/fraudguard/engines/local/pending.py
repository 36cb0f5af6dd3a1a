"""The local engine's pending batch and the one way it ends: :meth:`PendingMixin.settle`.

A mixin of :class:`fraudguard.engines.local.engine.LocalEngine`, split out of
``engine.py`` to keep modules short. A scored batch becomes the engine's *pending* batch;
with pipelining its write runs in a background thread while the next batch is polled and
scored. Settling it keeps the engine's crash rule, in this order:

1. the batch is written to every sink and the DLQ and flushed (waiting for the background
   write, or writing it now);
2. only then are its offsets committed (or its Kafka transaction, ``--exactly-once``);
3. only then is it counted.

Every place that ends a batch calls :meth:`settle`: the loop before the next batch reaches
the sinks, the end of a run, a re-subscription after an outage (``commit=False``), a
rebalance that revokes partitions and :meth:`close` (both ``best_effort``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
from confluent_kafka import Consumer

from fraudguard.engines.local.batching import DecodedBatch
from fraudguard.engines.local.delivery import deliver
from fraudguard.engines.local.offsets import LagTracker, commit_offsets
from fraudguard.engines.local.recovery import BrokerWatch
from fraudguard.engines.local.status import EngineStats
from fraudguard.io.dlq import DeadLetterWriter
from fraudguard.io.kafka_txn import KafkaTransactions, TransactionAborted
from fraudguard.io.sinks import Sink

log = logging.getLogger("fraudguard.engines.local.engine")
T = TypeVar("T")


@dataclass
class PendingBatch:
    """A scored batch on its way to the sinks, not yet committed."""

    batch: DecodedBatch
    predictions: pd.DataFrame | None
    written: Future[None] | None = None
    """The background writer's attempt (pipelined); ``None``: no attempt under way (the
    batch is written when it is settled, or a failed attempt was already taken up)."""


class PendingMixin:
    """Settles the pending batch (see the module docstring and ``engine.py``)."""

    consumer: Consumer
    stats: EngineStats
    sinks: list[Sink]
    dlq: DeadLetterWriter
    lag: LagTracker
    watch: BrokerWatch
    transactions: KafkaTransactions | None
    _pool: ThreadPoolExecutor | None
    _pending: PendingBatch | None

    if TYPE_CHECKING:  # provided by the engine

        def _report(self) -> None: ...

        def _detach_if_down(self) -> None: ...

        def _retry(self, fn: Callable[[], T], what: str) -> T: ...  # RetryMixin

    # --- pipelining -----------------------------------------------------------------
    def _writing(self) -> bool:
        """True while the background writer still works on the pending batch."""
        written = self._pending.written if self._pending is not None else None
        return written is not None and not written.done()

    def _in_flight(self) -> int:
        """Messages of the batch still being written (not yet counted as consumed)."""
        return len(self._pending.batch.messages) if self._pending is not None else 0

    # --- settling -------------------------------------------------------------------
    def settle(self, *, commit: bool = True, best_effort: bool = False) -> None:
        """Write the pending batch to every sink, then commit its offsets, then count it.

        On the loop's thread (the default) a failed write or commit is retried with back-off,
        partitions paused, until it succeeds or the engine is stopped
        (:class:`~fraudguard.engines.common.retry.Stopped`: nothing committed, the batch is
        replayed). ``commit=False`` writes without committing (after a broker outage the
        offsets may not match the logs any more).

        ``best_effort`` (inside a rebalance callback, at close) neither retries nor writes:
        it waits for the write under way; a batch not written stays pending (the loop
        retries it) and a commit that fails is only logged (the batch is replayed by
        whoever reads the partition next, and the idempotent sinks absorb it).
        """
        pending = self._pending
        if pending is None:
            return
        if best_effort:
            if not self._written(pending):
                return
        else:
            self._retry(lambda: self._write_attempt(pending), "writing the batch to the sinks")
        self._pending = None
        if not commit:
            return
        if not best_effort:
            self._commit(pending.batch, pending.predictions)
            return
        try:
            self._commit(pending.batch, pending.predictions, retry=False)
        except Exception as e:  # in a rebalance callback or closing: never raise from here
            log.warning("batch %s written but not committed (%s): it will be replayed", pending.batch.batch_id, e)

    def _write_attempt(self, pending: PendingBatch) -> None:
        """One try: the background writer's result (once), else a write on this thread."""
        if pending.written is None:
            self._deliver(pending.batch, pending.predictions)
            return
        written, pending.written = pending.written, None
        while True:  # keep the status line going while the sinks wait (an outage shows)
            try:
                written.result(timeout=0.5)
                return
            except TimeoutError:
                self._detach_if_down()
                self._report()

    def _written(self, pending: PendingBatch) -> bool:
        """Whether the background write succeeded (waiting for it); logs when it did not."""
        why = "no write under way"
        if pending.written is not None:
            try:
                pending.written.result()
                return True
            except Exception as e:
                why = str(e)
        log.warning("in-flight batch %s not written (%s): it will be retried or replayed", pending.batch.batch_id, why)
        return False

    def _commit(self, batch: DecodedBatch, predictions: pd.DataFrame | None, *, retry: bool = True) -> None:
        """Commit the batch's offsets (its sinks have flushed) and count it.

        Not while the broker is lost or has forgotten this consumer: a broker that came back
        empty would take these offsets for positions in its new, shorter logs and skip what
        was produced since. The batch is then read again if its log survived (idempotent sinks).
        """
        if self.watch.down or self.watch.suspect:
            log.warning("batch %s written but its offsets not committed: the broker was lost", batch.batch_id)
            return
        if self.transactions is not None:
            commit: Callable[[], object] = lambda: self._commit_transaction(batch, predictions)  # noqa: E731
        else:
            commit = lambda: commit_offsets(self.consumer, batch.offsets)  # noqa: E731
        if retry:
            self._retry(commit, "committing offsets")
        else:
            commit()
        self._count(batch, predictions)
        self.lag.observe(self.consumer, batch.offsets)
        self.stats.lag = self.lag.lag()

    def _commit_transaction(self, batch: DecodedBatch, predictions: pd.DataFrame | None) -> bool:
        """Commit the batch's transaction with its offsets; produce it again if the broker aborted it."""
        assert self.transactions is not None
        try:
            return self.transactions.commit(self.consumer, batch.offsets)
        except TransactionAborted:
            self._deliver(batch, predictions)  # a fresh transaction; the retry commits it
            raise

    def _deliver(self, batch: DecodedBatch, predictions: pd.DataFrame | None) -> None:
        """Write and flush every sink and the DLQ (idempotent: safe to call again on retry)."""
        if self.transactions is not None:
            self.transactions.begin()  # aborts a failed attempt's transaction first
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max(1, len(self.sinks)), thread_name_prefix="fraudguard-sink")
        deliver(self.sinks, self.dlq, predictions, batch.dead_letters, batch.batch_id, self._pool)

    def _count(self, batch: DecodedBatch, predictions: pd.DataFrame | None) -> None:
        s = self.stats
        s.batches += 1
        s.commits += 1
        s.consumed += len(batch.messages)
        s.dead_letters += len(batch.dead_letters)
        s.duplicates += batch.duplicates
        s.extras_dropped += batch.extras_dropped
        if predictions is not None:
            s.scored += len(predictions)
            s.alerts += int((predictions["decision"].to_numpy() == "fraud").sum())
            s.latency.add(predictions["produced_at"], predictions["scored_at"].iloc[0])
