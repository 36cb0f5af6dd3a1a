"""Kafka transactions for the local engine's ``--exactly-once`` mode.

Without it the Kafka outputs are at-least-once: a crash between the sinks' flush and the
offset commit replays the batch, and ``predictions`` gets the replayed rows twice (the
PostgreSQL upsert absorbs them, a Kafka reader sees them). With it, each batch's
predictions, alerts and dead letters are produced inside one Kafka transaction, and the
batch's consumed offsets are committed *in that same transaction*
(``send_offsets_to_transaction``): the outputs and the input position become visible
together or not at all, so a ``read_committed`` reader sees each transaction id once.

The ``transactional.id`` is stable per (consumer group, worker slot): a restarted worker
calls ``init_transactions`` with the id of the one that died, which fences the dead
producer and aborts its open transaction at once (a random id would leave it open,
blocking ``read_committed`` readers, until ``transaction.timeout.ms``).

``send_offsets_to_transaction`` can ignore its timeout and block for good when the group
coordinator's node dies (librdkafka 2.16, issues #5456 and #5511: the coordinator request
is never timed out, and a decommissioned coordinator is never looked up again); the
failover test saw the engine stall there under load. It therefore runs in a helper thread
bounded by ``timeout_s`` plus a grace; when it overruns, the producer instance is replaced
(``renew``), the new one's ``init_transactions`` fences the stuck one and aborts its
transaction, and the batch is produced again in a fresh transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from fraudguard.errors import BrokerError, FraudGuardError

log = logging.getLogger(__name__)


class TransactionFenced(FraudGuardError):
    """Another producer with our ``transactional.id`` took over, or the producer hit a fatal error."""


class TransactionAborted(BrokerError):
    """The open transaction had to be aborted; the batch must be produced again before committing."""


_REBALANCED = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.FENCED_INSTANCE_ID,
}
"""send_offsets errors meaning "these partitions moved on": abort, the new owner replays the batch."""


def transactional_id(group: str, slot: int) -> str:
    """The stable ``transactional.id`` of worker ``slot`` in consumer group ``group``."""
    return f"fraudguard-{group}-{slot}"


def _error(e: KafkaException) -> KafkaError | None:
    return e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None


class KafkaTransactions:
    """Begin / commit-with-offsets / abort around one transactional producer.

    ``init_transactions`` runs once, lazily, so constructing this never blocks on the broker.
    ``renew`` replaces the producer instance behind ``producer`` (a
    :class:`~fraudguard.io.renewing_producer.RenewingProducer` made with ``auto_renew=False``)
    when a call overruns its timeout; without it such a call raises :class:`TransactionFenced`.
    """

    def __init__(
        self,
        producer: Producer,
        *,
        timeout_s: float = 60.0,
        grace_s: float = 10.0,
        renew: Callable[[str], None] | None = None,
    ) -> None:
        self.producer = producer
        self.timeout_s = timeout_s
        self.grace_s = grace_s
        self.renew = renew
        self.stuck_calls = 0
        self._ready = False
        self._open = False
        self.committed = 0
        self.aborted = 0

    def _call(self, what: str, fn, *args: object) -> None:  # type: ignore[no-untyped-def]
        try:
            fn(*args)
        except KafkaException as e:
            err = _error(e)
            if err is not None and err.fatal():
                raise TransactionFenced(f"{what}: fatal producer error ({err}); restart the worker") from e
            if err is not None and err.txn_requires_abort():
                self.abort()
                raise TransactionAborted(f"{what}: transaction aborted ({err}); the batch is produced again") from e
            raise BrokerError(f"{what} failed: {e}") from e

    def begin(self) -> None:
        """Start a transaction for the next batch; an open one (a failed attempt) is aborted first."""
        if not self._ready:
            self._call("init_transactions", self.producer.init_transactions, self.timeout_s)
            self._ready = True
        if self._open:
            self.abort()
        self._call("begin_transaction", self.producer.begin_transaction)
        self._open = True

    def commit(self, consumer: Consumer, offsets: Mapping[tuple[str, int], int]) -> bool:
        """Add the consumed ``offsets`` (next offset per partition) to the transaction and commit it.

        Returns False when a rebalance moved the partitions away (the transaction is aborted and
        the new owner replays the batch). Raises :class:`TransactionAborted` when the broker
        forced an abort (the caller produces the batch again), :class:`BrokerError` for
        retriable failures (call again).
        """
        if not self._open:
            raise TransactionAborted("no open transaction: the batch is produced again")
        if offsets:
            tps = [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
            try:
                self._bounded(
                    "send_offsets_to_transaction",
                    self.producer.send_offsets_to_transaction,
                    tps,
                    consumer.consumer_group_metadata(),
                    self.timeout_s,
                )
            except KafkaException as e:
                err = _error(e)
                if err is not None and err.code() in _REBALANCED:
                    log.warning("offsets not added after a rebalance (%s): transaction aborted, batch replayed", err)
                    self.abort()
                    return False
                self._call("send_offsets_to_transaction", self._raise, e)
        self._call("commit_transaction", self.producer.commit_transaction, self.timeout_s)
        self._open = False
        self.committed += 1
        return True

    @staticmethod
    def _raise(e: BaseException) -> None:
        raise e

    def _bounded(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        """``fn(*args)`` in a helper thread; past ``timeout_s + grace_s`` the producer is replaced."""
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                fn(*args)
            except BaseException as e:  # handed to the caller's thread
                outcome.append(e)

        worker = threading.Thread(target=run, name=f"fraudguard-txn-{what}", daemon=True)
        worker.start()
        worker.join(self.timeout_s + self.grace_s)
        if worker.is_alive():
            self.stuck_calls += 1
            reason = f"{what} ignored its {self.timeout_s:.0f}s timeout (librdkafka #5456/#5511)"
            if self.renew is None:
                raise TransactionFenced(f"{reason}; restart the worker")
            log.warning("%s: replacing the transactional producer; the batch is produced again", reason)
            self.renew(reason)
            self._ready = False  # the new instance runs init_transactions, fencing the stuck one
            self._open = False
            raise TransactionAborted(f"{reason}: new producer, the batch is produced again")
        if outcome:
            raise outcome[0]

    @property
    def open(self) -> bool:
        """True while a transaction is open (begun, not committed or aborted)."""
        return self._open

    def abort(self) -> None:
        """Abort the open transaction (if any): its messages are never shown to read_committed readers."""
        if not self._open:
            return
        self._open = False
        try:
            self.producer.abort_transaction(self.timeout_s)
            self.aborted += 1
        except KafkaException as e:
            err = _error(e)
            if err is not None and err.fatal():
                raise TransactionFenced(f"abort_transaction: fatal producer error ({err})") from e
            log.warning("abort_transaction failed (%s); the broker aborts it at its timeout", e)


__all__ = ["KafkaTransactions", "TransactionAborted", "TransactionFenced", "transactional_id"]
