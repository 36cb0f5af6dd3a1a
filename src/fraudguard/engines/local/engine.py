"""The consumer-group micro-batch loop: poll, decode, score, write every sink, then commit.

One :class:`LocalEngine` is one group member. Each step:

1. polls up to ``batch_size`` messages for at most ``max_wait_s``;
2. lets the processor switch models (a batch boundary) and decodes the batch: invalid
   messages and duplicates become dead letters, the rest a transaction frame;
3. scores the frame (features with the shared core, then the current model);
4. writes the predictions to every sink and the dead letters to the DLQ, then flushes all;
5. commits the next offset of each partition, synchronously.

With ``pipeline=True`` (the default) step 4 runs in one background thread while the next
batch is polled, decoded and scored: the sinks' waiting (PostgreSQL, fsync, broker acks)
overlaps the scoring. Order is kept: batch N+1 goes to the sinks only after batch N has
flushed and its offsets were committed (on the loop's thread), so the crash rule below holds.

Failures in 4 and 5 (PostgreSQL or the broker slow or gone) are retried with exponential
back-off, forever unless the engine is stopped. While it retries the engine holds its
partitions paused and keeps calling ``poll`` so that the group does not evict it
(``max.poll.interval.ms``); a message delivered meanwhile (a partition assigned during
the pause is not paused) is carried into the next batch, never dropped. Nothing is
committed before every sink has flushed, so a crash or a stop during a retry replays the
batch, which the idempotent sinks absorb.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

import pandas as pd
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from fraudguard.admission import AdmissionPolicy
from fraudguard.engines.local.batching import DecodedBatch, RecentIds, decode_messages, poll_batch, poll_while_busy
from fraudguard.engines.local.delivery import deliver
from fraudguard.engines.local.isolate import score_isolating
from fraudguard.engines.local.offsets import LagTracker, commit_offsets
from fraudguard.engines.local.recovery import BrokerWatch
from fraudguard.engines.local.status import EngineStats, StatusReporter
from fraudguard.errors import BrokerError, DatabaseError, FraudGuardError, SinkError, StateStoreError
from fraudguard.io.dlq import DeadLetterWriter
from fraudguard.io.kafka_txn import KafkaTransactions, TransactionAborted
from fraudguard.io.sinks import Sink

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE: tuple[type[BaseException], ...] = (BrokerError, DatabaseError, SinkError, StateStoreError)


class Stopped(FraudGuardError):
    """The engine was asked to stop while it was retrying; the batch was not committed."""


class Processor(Protocol):
    """Scores transaction frames; owns the model (and its switches) and the feature state."""

    @property
    def version(self) -> str: ...

    def at_batch_boundary(self) -> bool:
        """Called between batches; switch models here. True when a switch happened."""
        ...

    def process(self, frame: pd.DataFrame, partitions: Sequence[int]) -> pd.DataFrame:
        """Prediction frame (``schema.PREDICTION_COLUMNS``) for a transaction frame."""
        ...


class RebalanceListener(Protocol):
    """Told about partition moves so per-card state can follow them (see ``rebalance.py``)."""

    def assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None: ...

    def revoked(self, partitions: list[TopicPartition]) -> None: ...


class LocalEngine:
    """One consumer-group member scoring micro-batches into every sink.

    Parameters
    ----------
    consumer:
        A manual-commit consumer (``fraudguard.io.kafka.make_consumer``), not yet subscribed.
    processor:
        Features + model; see :class:`Processor`.
    sinks:
        Every prediction sink; all are written and flushed before any commit.
    dlq:
        Where rejected messages go.
    topic:
        The transactions topic to subscribe to.
    stop_event:
        Set it (signal handler, another thread) for a graceful stop after the current batch.
    rebalance:
        Optional listener keeping feature state in step with the partition assignment.
    assign:
        Read these partitions with ``assign()`` instead of joining the group (benchmarks:
        Tansu serves group reads ~50x slower than assigned ones).
    admission:
        Event-time skew and extras bounds (``fraudguard.admission``); defaults otherwise.
    pipeline:
        Write batch N to the sinks in a background thread while batch N+1 is scored
        (False: every step writes, flushes and commits before it returns).
    transactions:
        ``--exactly-once``: the Kafka sinks' (and DLQ's) producer is transactional; each
        batch is one transaction, committed together with its offsets (``io/kafka_txn.py``)
        instead of a consumer commit.
    """

    def __init__(
        self,
        consumer: Consumer,
        processor: Processor,
        sinks: Sequence[Sink],
        dlq: DeadLetterWriter,
        *,
        topic: str,
        batch_size: int = 2000,
        max_wait_s: float = 0.2,
        stop_event: threading.Event | None = None,
        rebalance: RebalanceListener | None = None,
        reporter: StatusReporter | None = None,
        stats: EngineStats | None = None,
        backoff_s: float = 0.5,
        max_backoff_s: float = 15.0,
        recent_ids: int = 200_000,
        assign: list[TopicPartition] | None = None,
        pipeline: bool = True,
        transactions: KafkaTransactions | None = None,
        admission: AdmissionPolicy | None = None,
    ) -> None:
        self.consumer = consumer
        self.processor = processor
        self.sinks = list(sinks)
        self.dlq = dlq
        self.topic = topic
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.stop_event = stop_event or threading.Event()
        self.rebalance = rebalance
        self.stats = stats or EngineStats()
        self.reporter = reporter
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.recent = RecentIds(recent_ids)
        self.admission = admission or AdmissionPolicy()
        self.lag = LagTracker()
        self.watch = BrokerWatch(self.stats, topic)
        self.on_recover: Callable[[], None] | None = None  # runs before re-subscribing after an outage
        self.assign = assign
        self._carry: list[Message] = []
        self._paused = False
        self.pipeline = pipeline
        self.transactions = transactions
        self._writer: ThreadPoolExecutor | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[DecodedBatch, pd.DataFrame | None, Future[None]] | None = None

    # --- group membership ---------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned %s", [p.partition for p in partitions])
        if self.rebalance is not None:
            self.rebalance.assigned(consumer, partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("revoked %s", [p.partition for p in partitions])
        self._settle_before_revoke()
        self.lag.forget([(p.topic, p.partition) for p in partitions])
        if self.rebalance is not None:
            self.rebalance.revoked(partitions)

    def subscribe(self) -> None:
        """Join the group on the transactions topic (or read fixed partitions: benchmarks, replays)."""
        if self.assign is not None:
            self.consumer.assign(self.assign)
            return
        self.consumer.subscribe(
            [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
        )

    def _resubscribe(self) -> None:
        """Leave and rejoin: a restarted broker forgot the group, topics and offsets (recovery.py)."""
        if self.on_recover is not None:
            try:
                self.on_recover()
            except (FraudGuardError, KafkaException) as e:
                log.warning("recreating the engine's topics after the outage: %s", e)
        # Deliver the in-flight batch (nothing is lost) but do not commit its offsets: they
        # belong to the logs before the outage, and a broker that came back empty would take
        # them for positions in its new, shorter logs and skip what was produced since.
        # The batch is read again if the old log survived; the idempotent sinks absorb that.
        self.finish_pending(commit=False)
        try:
            self.consumer.unsubscribe()
        except KafkaException as e:
            log.warning("unsubscribing after the outage: %s", e)
        self._carry = []  # positions are re-read: carried messages come again
        self.subscribe()

    # --- the loop -----------------------------------------------------------------
    def run(self, max_messages: int | None = None) -> EngineStats:
        """Process batches until stopped (or ``max_messages`` consumed); then close cleanly."""
        self.subscribe()
        try:
            while not self.stop_event.is_set():
                self.step()
                if max_messages is not None and self.stats.consumed + self._in_flight() >= max_messages:
                    break
            self.finish_pending()
        except Stopped:
            log.warning("stopped during a retry: the last batch was not committed and will be replayed")
        finally:
            self.close()
        return self.stats

    def step(self) -> DecodedBatch | None:
        """One micro-batch: poll, decode, score, write, flush, commit. None when idle."""
        if self.watch.maybe_recover(self.consumer, self._resubscribe):
            self.stats.lag = 0
        want = self.batch_size - len(self._carry)
        if want <= 0:
            polled = []
        elif self.pipeline:
            polled = poll_while_busy(self.consumer, want, self.max_wait_s, self._writing, on_error=self.watch.on_error)
        else:
            polled = poll_batch(self.consumer, want, self.max_wait_s, on_error=self.watch.on_error)
        messages, self._carry = self._carry + polled, []
        if self.processor.at_batch_boundary():
            self.stats.model_switches += 1
        self.stats.model_version = self.processor.version
        if not messages:
            self.finish_pending()
            self._report()
            return None
        batch = decode_messages(messages, self.recent, self.admission, getattr(self.processor, "known_extras", None))
        predictions = (
            score_isolating(
                self.processor.process, batch.frame, batch.partitions, batch.row_messages, batch.dead_letters, RETRYABLE
            )
            if len(batch.frame)
            else None
        )
        self.finish_pending()  # batch N flushed and committed before N+1 reaches the sinks
        if self.pipeline:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="fraudguard-sinks")
            self._pending = (batch, predictions, self._writer.submit(self._deliver, batch, predictions))
        else:
            self._retry(lambda: self._deliver(batch, predictions), "writing the batch to the sinks")
            self._commit(batch, predictions)
        self._report()
        return batch

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

    def _report(self) -> None:
        if self.reporter is not None:
            self.reporter.maybe_print()

    # --- retries ------------------------------------------------------------------
    def _retry(self, fn: Callable[[], T], what: str) -> T:
        """Call ``fn`` until it succeeds, pausing consumption and backing off between tries."""
        attempt = 0
        while True:
            try:
                result = fn()
            except RETRYABLE as e:
                attempt += 1
                self.stats.retries += 1
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                log.warning("%s failed (attempt %d): %s; retrying in %.1fs", what, attempt, e, delay)
                self._pause()
                self._wait(delay)
                if self.stop_event.is_set():
                    raise Stopped(f"stopped while {what}") from e
                continue
            if self._paused:
                self._resume()
            return result

    def _pause(self) -> None:
        if self._paused:
            return
        try:
            self.consumer.pause(self.consumer.assignment())
            self._paused = True
        except KafkaException as e:
            log.warning("cannot pause partitions: %s", e)

    def _resume(self) -> None:
        try:
            self.consumer.resume(self.consumer.assignment())
        except KafkaException as e:
            log.warning("cannot resume partitions: %s", e)
        self._paused = False

    def _wait(self, seconds: float) -> None:
        """Sleep while serving the group protocol; keep any message delivered meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            msg = self.consumer.poll(min(remaining, 0.5))
            err = msg.error() if msg is not None else None
            if msg is not None and err is None:
                self._carry.append(msg)
            elif err is not None:
                self.watch.on_error(err)
            self._report()  # the status line keeps saying what is going on (an outage, retries)

    def close(self) -> None:
        """Close sinks and leave the group (the final commit already happened per batch)."""
        if self._pending is not None:  # an error or a stop left a batch in the writer
            batch, predictions, future = self._pending
            self._pending = None
            try:
                future.result()
                self._commit(batch, predictions, retry=False)
            except Exception as e:  # closing anyway; the batch is replayed
                log.warning("in-flight batch not committed at close (%s): it will be replayed", e)
        for pool in (self._writer, self._pool):
            if pool is not None:
                pool.shutdown(wait=True)
        if self.transactions is not None:
            try:
                self.transactions.abort()  # an uncommitted batch: its outputs are never shown
            except FraudGuardError as e:
                log.warning("aborting the open transaction at close: %s", e)
        self._writer = self._pool = None
        if self.reporter is not None:
            self.reporter.maybe_print(force=True)
        for sink in self.sinks:
            try:
                sink.close()
            except FraudGuardError as e:
                log.warning("closing sink %s: %s", getattr(sink, "name", sink), e)
        try:
            self.consumer.close()
        except (KafkaException, RuntimeError) as e:
            log.warning("closing the consumer: %s", e)
