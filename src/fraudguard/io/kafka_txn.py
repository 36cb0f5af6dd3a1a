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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

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
    """

    def __init__(self, producer: Producer, *, timeout_s: float = 60.0) -> None:
        self.producer = producer
        self.timeout_s = timeout_s
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
                self.producer.send_offsets_to_transaction(tps, consumer.consumer_group_metadata(), self.timeout_s)
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
