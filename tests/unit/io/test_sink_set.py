"""``SinkSet.deliver``: every sink written and flushed before it returns, the first error after all finished."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from fraudguard.errors import BrokerError, DatabaseError
from fraudguard.io.sinks.base import PredictionBatch, SinkSet
from fraudguard.io.sinks.dlq import DeadLetter
from tests.fixtures.postgres import prediction_frame


class MemorySink:
    """The sink contract in memory: records each call, its thread, and what it was given."""

    def __init__(self, name: str, log: list[str], *, producer: object | None = None, fail: Exception | None = None,
                 delay_s: float = 0.0) -> None:  # fmt: skip
        self.name, self.log, self.fail, self.delay_s = name, log, fail, delay_s
        if producer is not None:
            self.producer = producer
        self.batches: list[PredictionBatch] = []
        self.threads: set[str] = set()
        self.flushed = 0

    def setup(self) -> None: ...

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        self.log.append(f"write {self.name} {batch_id}")
        self.batches.append(batch)
        if self.fail is not None:
            raise self.fail

    def flush(self) -> None:
        self.log.append(f"flush {self.name}")
        self.flushed += 1

    def close(self) -> None:
        self.log.append(f"close {self.name}")


class MemoryDlq:
    def __init__(self, producer: object, log: list[str]) -> None:
        self.producer, self.log, self.letters = producer, log, []

    def write(self, letters: list[DeadLetter]) -> None:
        self.log.append("write dlq")
        self.letters += letters

    def flush(self) -> None:
        self.log.append("flush dlq")


LETTER = DeadLetter("tx", 0, 7, None, b"{", "$", "malformed JSON")


def test_every_sink_gets_the_one_converted_batch_and_is_flushed_before_deliver_returns() -> None:
    log: list[str] = []
    sinks = [MemorySink("pg", log), MemorySink("parquet", log)]
    batch = PredictionBatch.of(prediction_frame(5))
    SinkSet(sinks).deliver(batch, [], "b1")
    assert all(s.batches == [batch] and s.batches[0].table is batch.table for s in sinks)
    assert all(s.flushed == 1 for s in sinks)
    assert sorted(log) == ["flush parquet", "flush pg", "write parquet b1", "write pg b1"]


def test_sinks_sharing_a_producer_are_written_in_turn_then_flushed_and_the_others_run_concurrently() -> None:
    log: list[str] = []
    producer = object()
    preds = MemorySink("preds", log, producer=producer)
    alerts = MemorySink("alerts", log, producer=producer)
    dlq = MemoryDlq(producer, log)
    pg = MemorySink("pg", log, delay_s=0.05)
    SinkSet([pg, preds, alerts], dlq).deliver(PredictionBatch.of(prediction_frame(3)), [LETTER], "b")
    kafka_steps = [step for step in log if "pg" not in step]
    assert kafka_steps == ["write preds b", "write alerts b", "write dlq", "flush preds", "flush alerts", "flush dlq"]
    assert dlq.letters == [LETTER]
    assert preds.threads == alerts.threads and preds.threads.isdisjoint(pg.threads)
    assert log.index("flush pg") > log.index("write pg b")


def test_a_failure_is_raised_only_after_every_other_sink_finished() -> None:
    log: list[str] = []
    slow = MemorySink("slow", log, delay_s=0.1)
    broken = MemorySink("broken", log, fail=DatabaseError("database gone"))
    other = MemorySink("other", log, fail=BrokerError("broker gone"), delay_s=0.05)
    sinks = SinkSet([broken, slow, other])
    with pytest.raises(DatabaseError, match="database gone"):  # the first task's, raised last
        sinks.deliver(PredictionBatch.of(prediction_frame(2)), [], "b")
    assert "flush slow" in log, "the slow sink finished before the error was raised"
    assert "write other b" in log and "flush broken" not in log, "a failed task stops, the others do not"


def test_the_ledger_is_written_after_every_other_sink_flushed_and_never_when_one_failed() -> None:
    log: list[str] = []
    ledger = MemorySink("ledger", log)
    ok = SinkSet([MemorySink("kafka", log, delay_s=0.05)], ledger=ledger)
    ok.deliver(PredictionBatch.of(prediction_frame(2)), [], "b1")
    assert log == ["write kafka b1", "flush kafka", "write ledger b1", "flush ledger"]

    log.clear()
    failing = SinkSet([MemorySink("kafka", log, fail=BrokerError("not acknowledged"))], ledger=ledger)
    with pytest.raises(BrokerError):
        failing.deliver(PredictionBatch.of(prediction_frame(2)), [], "b2")
    assert "write ledger b2" not in log
    assert list(failing) == [*failing.sinks, ledger]


def test_dead_letters_without_a_dlq_are_logged_and_a_batch_of_none_writes_no_sink(caplog) -> None:
    log: list[str] = []
    sink = MemorySink("pg", log)
    with caplog.at_level(logging.WARNING):
        SinkSet([sink]).deliver(None, [LETTER], "b")
    assert log == [] and "1 dead letters and no dead-letter writer" in caplog.text


def test_close_closes_every_sink_and_the_ledger() -> None:
    log: list[str] = []
    sinks = SinkSet([MemorySink("a", log), MemorySink("b", log)], ledger=MemorySink("l", log))
    sinks.deliver(PredictionBatch.of(prediction_frame(1)), [], "b")
    sinks.close()
    assert log[-3:] == ["close a", "close b", "close l"]
