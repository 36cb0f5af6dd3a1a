"""Produce to and consume from the broker over the real Kafka protocol."""

from __future__ import annotations

import pytest

from fraudguard.errors import BrokerError
from fraudguard.io.broker import TANSU_CLUSTER_ID, EmbeddedBroker, free_port
from fraudguard.io.kafka import (
    check_reachable,
    ensure_topics,
    flush_or_raise,
    make_consumer,
    make_producer,
    partition_count,
)

pytestmark = pytest.mark.integration


def test_produce_then_group_consume_every_message(kafka_bootstrap, topic_factory):
    topic = topic_factory("roundtrip", partitions=3)
    producer = make_producer(kafka_bootstrap)
    for i in range(300):
        producer.produce(topic, key=f"card-{i % 17}".encode(), value=f"v{i}".encode())
    flush_or_raise(producer)

    consumer = make_consumer(kafka_bootstrap, group_id=f"g-{topic}")
    consumer.subscribe([topic])
    seen: dict[bytes, list[bytes]] = {}
    try:
        while sum(len(v) for v in seen.values()) < 300:
            msgs = consumer.consume(300, timeout=20.0)
            assert msgs, "no message within 20 s"
            for m in msgs:
                assert m.error() is None
                seen.setdefault(m.key(), []).append(m.value())
    finally:
        consumer.close()
    assert sum(len(v) for v in seen.values()) == 300
    # keyed messages keep their per-key order
    for key, values in seen.items():
        idx = [int(v[1:]) for v in values]
        assert idx == sorted(idx), key


def test_ensure_topics_is_idempotent(kafka_bootstrap):
    name = "idem-topic-" + str(free_port())
    assert ensure_topics(kafka_bootstrap, [name], 2) == [name]
    assert ensure_topics(kafka_bootstrap, [name], 2) == []
    assert partition_count(kafka_bootstrap, name) == 2


def test_unreachable_broker_names_the_address():
    port = free_port()
    with pytest.raises(BrokerError, match=f"127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", timeout=2.0)


def test_port_already_taken_is_refused(kafka_bootstrap):
    host, port = kafka_bootstrap.rsplit(":", 1)
    if host != "127.0.0.1":
        pytest.skip("needs the embedded broker's port")
    with pytest.raises(BrokerError, match="already in use"):
        EmbeddedBroker(port=int(port)).start()


def test_cluster_id_tells_tansu_from_apache_kafka(kafka_bootstrap, broker_kind):
    """The Spark engine's ``--spark-source auto`` relies on Tansu's cluster id."""
    cluster_id = check_reachable(kafka_bootstrap)
    if broker_kind == "tansu":
        assert cluster_id == TANSU_CLUSTER_ID
    elif broker_kind == "kafka":
        assert cluster_id and cluster_id != TANSU_CLUSTER_ID
    else:
        pytest.skip("an external broker may be either")
