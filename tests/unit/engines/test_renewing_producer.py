"""RenewingProducer: after a fatal librdkafka error the next call goes to a new producer.

The integration test ``test_engine_broker_restart.py`` shows the effect on a real broker;
here the wrapper's own rules are checked with a recording stand-in for the client.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from confluent_kafka import KafkaError, KafkaException

from fraudguard.errors import BrokerError
from fraudguard.io.renewing_producer import RenewingProducer, is_fatal
from fraudguard.io.sinks.kafka import ProducerSink


class Recorder:
    """Stands in for confluent_kafka.Producer: records calls, fails as told."""

    made: ClassVar[list[Recorder]] = []

    def __init__(self, conf: dict[str, Any]) -> None:
        self.conf, self.produced, self.purged = conf, [], False
        self.callbacks: list[Any] = []
        self.fail_produce: Exception | None = None
        self.fail_flush: Exception | None = None
        Recorder.made.append(self)

    def produce(self, topic: str, **kwargs: Any) -> None:
        if self.fail_produce is not None:
            raise self.fail_produce
        self.produced.append((topic, kwargs.get("value")))
        if kwargs.get("on_delivery") is not None:
            self.callbacks.append(kwargs["on_delivery"])

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        if self.fail_flush is not None:
            raise self.fail_flush
        return 0

    def purge(self, **kwargs: Any) -> None:
        self.purged = True

    def __len__(self) -> int:
        return len(self.produced)


FATAL = KafkaError(KafkaError._FATAL, "fatal: out of order sequence number", fatal=True)


@pytest.fixture(autouse=True)
def _reset() -> None:
    Recorder.made = []


def test_fatal_refusal_on_produce_renews_the_producer_for_the_next_call() -> None:
    seen: list[Any] = []
    p = RenewingProducer({"bootstrap.servers": "x", "error_cb": seen.append}, factory=Recorder)
    Recorder.made[0].fail_produce = KafkaException(FATAL)
    with pytest.raises(KafkaException):
        p.produce("t", value=b"1")
    p.produce("t", value=b"2")
    assert len(Recorder.made) == 2 and p.renewals == 1
    assert Recorder.made[0].purged and Recorder.made[1].produced == [("t", b"2")]


def test_fatal_error_callback_renews_and_still_reaches_the_callers_callback() -> None:
    seen: list[Any] = []
    p = RenewingProducer({"bootstrap.servers": "x", "error_cb": seen.append}, factory=Recorder)
    p._conf["error_cb"](FATAL)  # what librdkafka calls from poll/flush
    assert seen == [FATAL]
    p.produce("t", value=b"v")
    assert p.renewals == 1 and Recorder.made[1].produced == [("t", b"v")]


def test_a_non_fatal_error_keeps_the_producer() -> None:
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    down = KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down")
    assert not is_fatal(down)
    p._conf["error_cb"](down)
    p.produce("t", value=b"v")
    assert p.renewals == 0 and len(Recorder.made) == 1


def test_a_flush_that_fails_inside_the_client_becomes_a_retryable_broker_error() -> None:
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    Recorder.made[0].fail_flush = SystemError("<built-in method flush> returned NULL without setting an exception")
    with pytest.raises(BrokerError, match="failed fatally"):
        p.flush(1.0)
    assert p.flush(1.0) == 0 and p.renewals == 1


def test_other_flush_errors_pass_through_unchanged() -> None:
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    Recorder.made[0].fail_flush = KafkaException(KafkaError(KafkaError._TIMED_OUT, "timed out"))
    with pytest.raises(KafkaException):
        p.flush(1.0)
    assert p.renewals == 0


def test_transactional_producers_are_refused() -> None:
    with pytest.raises(ValueError, match="non-transactional"):
        RenewingProducer({"bootstrap.servers": "x", "transactional.id": "t"}, factory=Recorder)


def test_a_delivery_report_saying_the_producer_id_was_lost_renews_the_producer() -> None:
    """A restarted broker answered PRODUCER_FENCED per message and librdkafka kept the instance."""
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    reports: list[Any] = []
    p.produce("t", value=b"1", on_delivery=lambda err, msg: reports.append(err))
    fenced = KafkaError(KafkaError.PRODUCER_FENCED, "There is a newer producer")
    wrapped = Recorder.made[0].callbacks[0]
    wrapped(fenced, "msg")
    assert reports == [fenced]  # the caller's callback still sees the failure
    p.produce("t", value=b"2", on_delivery=lambda err, msg: None)
    assert p.renewals == 1 and Recorder.made[1].produced == [("t", b"2")]


def test_an_ordinary_delivery_failure_keeps_the_producer() -> None:
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    p.produce("t", value=b"1", on_delivery=lambda err, msg: None)
    Recorder.made[0].callbacks[0](KafkaError(KafkaError._MSG_TIMED_OUT, "timed out"), "msg")
    p.produce("t", value=b"2", on_delivery=lambda err, msg: None)
    assert p.renewals == 0 and len(Recorder.made) == 1


def test_each_report_reaches_the_callback_it_was_produced_with() -> None:
    """The wrapper is reused for the same callback (bound methods are equal, not identical)
    and never hands one sink's reports to another's."""

    class Sink:
        def __init__(self) -> None:
            self.reports: list[bytes] = []

        def delivered(self, err: Any, msg: Any) -> None:
            self.reports.append(msg)

    a, b = Sink(), Sink()
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    for value, sink in ((b"a1", a), (b"a2", a), (b"b1", b), (b"a3", a), (b"b2", b)):
        p.produce("t", value=value, on_delivery=sink.delivered)
    callbacks = Recorder.made[0].callbacks
    assert callbacks[0] is callbacks[1] and callbacks[2] is not callbacks[1]
    for cb, (_, value) in zip(callbacks, Recorder.made[0].produced, strict=True):
        cb(None, value)
    assert (a.reports, b.reports) == ([b"a1", b"a2", b"a3"], [b"b1", b"b2"])
    lost = KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "unknown producer id")
    callbacks[2](lost, b"b1-again")  # a report of a lost identity still marks the producer for renewal
    assert b.reports[-1] == b"b1-again"
    p.produce("t", value=b"after")
    assert p.renewals == 1


class _Sink(ProducerSink):
    """A Kafka sink over raw keys and values (the prediction and alert sinks encode frames first)."""

    def send(self, keys: list[bytes], values: list[bytes]) -> None:
        self._produce_all(keys, values)


def _queue_two_and_report(sink: _Sink) -> Recorder:
    """Send two messages through ``sink``; they reach the newest recorded producer, and their
    delivery reports reach the sink. Returns that producer."""
    sink.send([b"k1", b"k2"], [b"1", b"2"])
    producer = Recorder.made[-1]
    assert producer.produced == [("t", b"1"), ("t", b"2")] and sink.reports.pending == 2
    for cb in producer.callbacks:
        cb(None, "msg")
    assert sink.reports.pending == 0
    return producer


def test_a_sink_queues_through_the_current_instance_and_a_fatal_refusal_renews_it() -> None:
    """The sinks produce a batch through :meth:`RenewingProducer.bound` (no wrapper per
    message): the same renewal on a fatal refusal, and reports still reach the sink."""
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    sink = _Sink(p, "t", flush_timeout_s=1)  # type: ignore[arg-type]
    first = _queue_two_and_report(sink)
    first.fail_produce = KafkaException(FATAL)
    with pytest.raises(BrokerError, match="cannot queue"):
        sink.send([b"k3"], [b"3"])
    assert sink.reports.pending == 0  # the refused message is not waited for
    sink.send([b"k4"], [b"4"])
    assert p.renewals == 1 and Recorder.made[1].produced == [("t", b"4")]


def test_a_lost_identity_reported_to_a_sink_renews_the_producer() -> None:
    p = RenewingProducer({"bootstrap.servers": "x"}, factory=Recorder)
    sink = _Sink(p, "t", flush_timeout_s=1)  # type: ignore[arg-type]
    sink.send([b"k1"], [b"1"])
    Recorder.made[0].callbacks[0](KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "unknown producer id"), "msg")
    with pytest.raises(BrokerError, match="failed to reach the broker"):
        sink.flush()
    sink.send([b"k2"], [b"2"])
    assert p.renewals == 1 and Recorder.made[1].produced == [("t", b"2")]


def test_a_sink_over_a_plain_producer_takes_the_same_path() -> None:
    """``bind`` gives a plain producer's own ``produce`` and callback: reports reach the sink,
    and a refusal is a BrokerError with nothing left to wait for (there is nothing to renew)."""
    plain = Recorder({"bootstrap.servers": "x"})
    sink = _Sink(plain, "t", flush_timeout_s=1)  # type: ignore[arg-type]
    assert _queue_two_and_report(sink) is plain
    plain.fail_produce = KafkaException(FATAL)
    with pytest.raises(BrokerError, match="cannot queue"):
        sink.send([b"k3"], [b"3"])
    assert sink.reports.pending == 0 and Recorder.made == [plain]
