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

Split for length: ``contracts.py`` (the processor and rebalance protocols), ``pending.py``
(:meth:`~fraudguard.engines.local.pending.PendingMixin.settle`, the one way a batch ends:
deliver, commit, count) and ``retrying.py`` (back-off while the partitions stay paused)
hold the rest of the class. What is retried, the back-off and the stop handling are shared
with the Spark engine (``engines/common``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from fraudguard.admission import AdmissionPolicy
from fraudguard.engines.common.retry import RETRYABLE, Stopped
from fraudguard.engines.local.batching import DecodedBatch, RecentIds, decode_messages, poll_batch, poll_while_busy
from fraudguard.engines.local.contracts import Processor, RebalanceListener
from fraudguard.engines.local.isolate import score_isolating
from fraudguard.engines.local.offsets import LagTracker
from fraudguard.engines.local.pending import PendingBatch, PendingMixin
from fraudguard.engines.local.recovery import BrokerWatch
from fraudguard.engines.local.retrying import RetryMixin
from fraudguard.engines.local.status import EngineStats, StatusReporter
from fraudguard.errors import FraudGuardError
from fraudguard.io.dlq import DeadLetterWriter
from fraudguard.io.kafka_txn import KafkaTransactions
from fraudguard.io.sinks import Sink

__all__ = ["RETRYABLE", "LocalEngine", "Processor", "RebalanceListener", "Stopped"]

log = logging.getLogger(__name__)


class LocalEngine(PendingMixin, RetryMixin):
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
    consumer_factory:
        Makes a fresh consumer like ``consumer``. After a broker outage the old one is
        closed and replaced (recovery.py): a librdkafka instance that re-subscribes keeps
        its stale group state, and a restarted broker may then assign every partition to
        the ghost of its previous membership. ``None``: re-subscribe the same consumer.
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
        consumer_factory: Callable[[], Consumer] | None = None,
    ) -> None:
        self.consumer = consumer
        self.consumer_factory = consumer_factory
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
        self._detached = False  # the consumer left its subscription during an outage
        self.pipeline = pipeline
        self.transactions = transactions
        self._writer: ThreadPoolExecutor | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: PendingBatch | None = None

    # --- group membership ---------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned %s", [p.partition for p in partitions])
        if self.rebalance is not None:
            self.rebalance.assigned(consumer, partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("revoked %s", [p.partition for p in partitions])
        # commit the batch in flight before its partitions move, so the new owner need not
        # replay it (inside poll: no retries; a failed write stays pending for the loop)
        self.settle(best_effort=True)
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

    def _detach_if_down(self) -> None:
        """During an outage, drop the subscription at once (called wherever the loop waits).

        Otherwise librdkafka rejoins a restarted broker on its own, and that membership lives
        on as a ghost holding every partition after the consumer is replaced: the fresh join
        then waits for the ghost's session to time out (11 s instead of 3 s on Tansu).
        """
        if not self.watch.down or self._detached or self.consumer_factory is None:
            return
        self._detached = True
        try:
            self.consumer.unsubscribe()
        except (KafkaException, RuntimeError) as e:
            log.warning("leaving the subscription during the outage: %s", e)

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
        self.settle(commit=False)
        try:
            if self.consumer_factory is None:
                self.consumer.unsubscribe()
            else:
                self.consumer.close()  # leaves the group: the restarted broker forgets the old member
        except (KafkaException, RuntimeError) as e:
            log.warning("leaving the group after the outage: %s", e)
        if self.consumer_factory is not None:
            self.consumer = self.consumer_factory()
        self._detached = False
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
            self.settle()
        except Stopped:
            log.warning("stopped during a retry: the last batch was not committed and will be replayed")
        finally:
            self.close()
        return self.stats

    def step(self) -> DecodedBatch | None:
        """One micro-batch: poll, decode, score, write, flush, commit. None when idle."""
        self._detach_if_down()
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
            self.settle()
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
        self.settle()  # batch N flushed and committed before N+1 reaches the sinks
        self._pending = PendingBatch(batch, predictions)
        if self.pipeline:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="fraudguard-sinks")
            self._pending.written = self._writer.submit(self._deliver, batch, predictions)
        else:
            self.settle()
        self._report()
        return batch

    def _report(self) -> None:
        if self.reporter is not None:
            self.reporter.maybe_print()

    def close(self) -> None:
        """Close sinks and leave the group (the final commit already happened per batch)."""
        self.settle(best_effort=True)  # an error or a stop left a batch in the writer
        self._pending = None  # what settle could not write or commit is replayed after a restart
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
