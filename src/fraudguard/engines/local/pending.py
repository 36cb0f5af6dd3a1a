"""The local engine's pending batch: wait for the background writer, deliver, commit, count.

A mixin of :class:`fraudguard.engines.local.engine.LocalEngine`, split out of
``engine.py`` to keep modules short. The order it keeps is the engine's crash rule:
a batch's offsets are committed only after every sink has flushed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
from confluent_kafka import Consumer

from fraudguard.engines.local.batching import DecodedBatch
from fraudguard.engines.local.contracts import RETRYABLE
from fraudguard.engines.local.delivery import deliver
from fraudguard.engines.local.offsets import LagTracker, commit_offsets
from fraudguard.engines.local.recovery import BrokerWatch
from fraudguard.engines.local.status import EngineStats
from fraudguard.errors import FraudGuardError
from fraudguard.io.dlq import DeadLetterWriter
from fraudguard.io.kafka_txn import KafkaTransactions, TransactionAborted
from fraudguard.io.sinks import Sink

log = logging.getLogger("fraudguard.engines.local.engine")
T = TypeVar("T")


class PendingMixin:
    """Settles the batch written in the background (see ``engine.py``)."""

    consumer: Consumer
    stats: EngineStats
    sinks: list[Sink]
    dlq: DeadLetterWriter
    lag: LagTracker
    watch: BrokerWatch
    transactions: KafkaTransactions | None
    _pool: ThreadPoolExecutor | None
    _pending: tuple[DecodedBatch, pd.DataFrame | None, Future[None]] | None

    if TYPE_CHECKING:  # provided by the engine

        def _report(self) -> None: ...

        def _detach_if_down(self) -> None: ...

        def _retry(self, fn: Callable[[], T], what: str) -> T: ...  # RetryMixin

    # --- pipelining -----------------------------------------------------------------
    def _writing(self) -> bool:
        """True while the background writer still works on the previous batch."""
        return self._pending is not None and not self._pending[2].done()

    def _in_flight(self) -> int:
        """Messages of the batch still being written (not yet counted as consumed)."""
        return len(self._pending[0].messages) if self._pending is not None else 0

    def finish_pending(self, *, commit: bool = True) -> None:
        """Wait for the batch in the background writer, retry it if it failed, then commit it."""
        if self._pending is None:
            return
        batch, predictions, future = self._pending
        try:
            while True:  # keep the status line going while the sinks wait (an outage shows)
                try:
                    future.result(timeout=0.5)
                    break
                except TimeoutError:
                    self._detach_if_down()
                    self._report()
        except RETRYABLE as e:
            self.stats.retries += 1
            log.warning("writing the batch to the sinks failed: %s; retrying", e)
            self._retry(lambda: self._deliver(batch, predictions), "writing the batch to the sinks")
        self._pending = None
        if commit:
            self._commit(batch, predictions)

    def _settle_before_revoke(self) -> None:
        """Commit the in-flight batch before its partitions move, so the new owner need not replay it.

        Called inside ``poll`` (rebalance callback): no retries here. A failed write stays
        pending and the loop retries it; committing revoked partitions then fails harmlessly.
        """
        if self._pending is None:
            return
        batch, predictions, future = self._pending
        try:
            future.result()
        except Exception as e:  # re-raised by finish_pending on the loop's thread
            log.warning("in-flight batch not written before the rebalance (%s): it will be retried", e)
            return
        self._pending = None
        if self.watch.down or self.watch.suspect:
            return  # the broker is gone or forgot us: its offsets may not match the logs any more
        try:
            self._commit(batch, predictions, retry=False)
        except FraudGuardError as e:
            log.warning("commit before the rebalance failed (%s): the new owner replays the batch", e)

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
