"""``fraudguard generate`` publishes exactly N valid transactions, keyed by card, to a real broker."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import TopicPartition
from typer.testing import CliRunner

from fraudguard.cli import app
from fraudguard.io.kafka import make_consumer, partition_count
from fraudguard.schema import decode_transaction

pytestmark = pytest.mark.integration


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    """Every message of ``topic`` read with ``assign()`` from offset 0 (counted, not from watermarks)."""
    consumer = make_consumer(bootstrap, None, log_level=0)
    parts = partition_count(bootstrap, topic)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(parts)])
    out: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for m in consumer.consume(min(10_000, expected - len(out)), timeout=1.0):
                assert m.error() is None, m.error()
                out.append(m)
        # anything beyond the expected count would be a duplicate: give it a moment to show
        out.extend(m for m in consumer.consume(1_000, timeout=0.5) if m.error() is None)
    finally:
        consumer.close()
    return out


def test_generate_publishes_exactly_n_valid_transactions_keyed_by_card(kafka_bootstrap, topic_factory):
    topic = topic_factory("generated", partitions=4)
    n = 3_000
    result = CliRunner().invoke(
        app,
        ["generate", "--tps", "5000", "--count", str(n), "--fraud-rate", "0.05", "--seed", "11",
         "--customers", "300", "--bootstrap", kafka_bootstrap, "--topic", topic, "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"published {n:,} messages" in result.stdout
    messages = read_all(kafka_bootstrap, topic, n)
    assert len(messages) == n
    txs = [(m, decode_transaction(m.value())) for m in messages]
    assert len({t.transaction_id for _, t in txs}) == n
    assert sum(bool(t.is_fraud) for _, t in txs) == pytest.approx(0.05 * n, abs=0.01 * n)
    partitions_of_card: dict[str, set[int]] = {}
    last_time: dict[str, object] = {}
    for m, t in sorted(txs, key=lambda mt: (mt[0].partition(), mt[0].offset())):
        assert m.key() == t.card_id.encode()
        partitions_of_card.setdefault(t.card_id, set()).add(m.partition())
        if t.card_id in last_time:
            assert t.event_time > last_time[t.card_id]  # per-card order survives the partition
        last_time[t.card_id] = t.event_time
    assert all(len(p) == 1 for p in partitions_of_card.values())
    assert len({m.partition() for m, _ in txs}) == 4


def test_the_schedule_starts_after_the_first_message_is_acknowledged(kafka_bootstrap, topic_factory, monkeypatch):
    """A new producer's start-up (connection, idempotent producer id) is not taken out of
    the schedule: the first message is flushed before the second is sent, and all arrive."""
    import fraudguard.io.publish as publish_module

    topic = topic_factory("paced", partitions=2)
    calls: list[str] = []
    real_make = publish_module.make_producer

    class Recording:
        def __init__(self, producer):
            self.producer = producer

        def produce(self, *args, **kwargs):
            calls.append("produce")
            return self.producer.produce(*args, **kwargs)

        def flush(self, *args):
            calls.append(f"flush:{len(self.producer)}")
            return self.producer.flush(*args)

        def poll(self, *args):
            return self.producer.poll(*args)

    monkeypatch.setattr(publish_module, "make_producer", lambda *a, **k: Recording(real_make(*a, **k)))
    values = [f"m{i}".encode() for i in range(50)]
    keys = [f"k{i % 7}".encode() for i in range(50)]
    batch = publish_module.Batch(keys=keys, values=values, offsets=publish_module.rate_offsets(0, 50, 2000.0))
    report = publish_module.publish(kafka_bootstrap, topic, [batch], total=50, target_rate=2000.0, progress=False)
    assert calls[:3] == ["produce", "flush:1", "produce"]
    assert calls.count("produce") == 50 and report.sent == 50 and report.failed == 0
    assert sorted(m.value() for m in read_all(kafka_bootstrap, topic, 50)) == sorted(values)
