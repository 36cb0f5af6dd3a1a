"""KafkaTransactions when ``send_offsets_to_transaction`` ignores its timeout.

librdkafka 2.16 can block in that call for good after the group coordinator's node dies
(upstream issues #5456 / #5511); the 3-node failover test saw the engine stall there. The
wrapper must give up after its timeout, replace the producer and make the batch be produced
again, never hang. A stand-in producer blocks on purpose: the real client cannot be made to
hit the bug on demand.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from fraudguard.io.kafka_txn import KafkaTransactions, TransactionAborted, TransactionFenced
from fraudguard.io.renewing_producer import RenewingProducer


class TxnRecorder:
    """Stands in for a transactional confluent_kafka.Producer; ``hang`` blocks send_offsets."""

    made: ClassVar[list[TxnRecorder]] = []

    def __init__(self, conf: dict[str, Any]) -> None:
        self.calls: list[str] = []
        self.hang = threading.Event() if not TxnRecorder.made else None
        TxnRecorder.made.append(self)

    def init_transactions(self, timeout: float) -> None:
        self.calls.append("init")

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self.calls.append("send_offsets")
        if self.hang is not None:
            self.hang.wait(30)  # ignores ``timeout``, as the bug does

    def commit_transaction(self, timeout: float) -> None:
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")


class Consumer:
    def consumer_group_metadata(self) -> object:
        return object()


@pytest.fixture(autouse=True)
def _reset() -> None:
    TxnRecorder.made = []


def test_a_hung_send_offsets_replaces_the_producer_and_the_batch_is_produced_again() -> None:
    held = RenewingProducer({"transactional.id": "t"}, factory=TxnRecorder, auto_renew=False)
    txn = KafkaTransactions(held, timeout_s=0.05, grace_s=0.05, renew=held.renew)  # type: ignore[arg-type]
    txn.begin()
    try:
        with pytest.raises(TransactionAborted, match="ignored its"):
            txn.commit(Consumer(), {("tx", 0): 10})  # type: ignore[arg-type]
        assert held.renewals == 1 and len(TxnRecorder.made) == 2 and txn.stuck_calls == 1
        assert not txn.open
        txn.begin()  # what the engine does next: produce the batch again in a fresh transaction
        assert txn.commit(Consumer(), {("tx", 0): 10})  # type: ignore[arg-type]
        # the new instance ran init_transactions first: that fences the stuck one
        assert TxnRecorder.made[1].calls == ["init", "begin", "send_offsets", "commit"]
        assert txn.committed == 1
    finally:
        TxnRecorder.made[0].hang.set()  # type: ignore[union-attr]


def test_without_a_way_to_renew_a_hung_call_stops_the_worker_instead_of_hanging() -> None:
    producer = TxnRecorder({})
    txn = KafkaTransactions(producer, timeout_s=0.05, grace_s=0.05)  # type: ignore[arg-type]
    txn.begin()
    try:
        with pytest.raises(TransactionFenced, match="restart the worker"):
            txn.commit(Consumer(), {("tx", 0): 10})  # type: ignore[arg-type]
    finally:
        producer.hang.set()  # type: ignore[union-attr]


def test_a_transactional_producer_is_never_renewed_on_errors() -> None:
    with pytest.raises(ValueError, match="auto_renew=False"):
        RenewingProducer({"transactional.id": "t"}, factory=TxnRecorder)
