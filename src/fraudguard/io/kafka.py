"""Kafka client factories and topic administration over confluent-kafka.

Every command goes through these so client settings (compression, batching, timeouts)
are chosen once. They work the same against the embedded Tansu broker and a real Kafka
cluster; where Tansu differs (see docs/machine-notes.md: ListOffsets), callers take the
high watermark from fetched messages instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from fraudguard.config import Settings
from fraudguard.errors import BrokerError

CLIENT_LOG = logging.getLogger("fraudguard.kafka.client")
"""librdkafka's own log lines go here instead of raw ``%3|...|FAIL|`` lines on stderr.

Connection failures already surface as :class:`BrokerError` with the address; the CLI keeps
this logger at CRITICAL unless ``FRAUDGUARD_DEBUG`` is set.
"""

PRODUCER_DEFAULTS: dict[str, Any] = {
    "linger.ms": 5,
    "compression.type": "lz4",
    "batch.num.messages": 10000,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    # acks=all + idempotence: a write is acknowledged once min.insync.replicas have it, and
    # librdkafka's retries after a leader change neither duplicate nor reorder it.
    "enable.idempotence": True,
    "acks": "all",
    "message.timeout.ms": 120_000,
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "fetch.min.bytes": 1,
    "fetch.wait.max.ms": 50,
    # Tansu answers a new group's JoinGroup after about half the session timeout; 6 s is
    # also the smallest session timeout real Kafka brokers accept by default.
    "session.timeout.ms": 6_000,
    "heartbeat.interval.ms": 1_500,
    "max.poll.interval.ms": 300_000,
    "partition.assignment.strategy": "cooperative-sticky",
}


def require_bootstrap(settings: Settings, override: str | None = None) -> str:
    """The bootstrap servers to use, or a :class:`BrokerError` telling how to get one."""
    servers = override or settings.kafka_bootstrap_servers
    if not servers:
        raise BrokerError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: start the embedded broker with `fraudguard broker` "
            "and export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092, or point it at your Kafka cluster"
        )
    return servers


def make_producer(
    bootstrap: str, *, renew_on_fatal: bool = False, renewable: bool = False, **overrides: Any
) -> Producer:
    """A producer tuned for throughput (lz4, 5 ms linger, large queue).

    ``renew_on_fatal`` returns a :class:`~fraudguard.io.renewing_producer.RenewingProducer`
    (same interface) that replaces itself after a fatal error, such as a restarted broker
    that forgot the idempotent producer's id: long-running engines use it. ``renewable``
    returns one that is replaced only by an explicit ``renew()`` (transactional producers).
    """
    conf = {"bootstrap.servers": bootstrap, "logger": CLIENT_LOG, **PRODUCER_DEFAULTS, **overrides}
    if renew_on_fatal or renewable:
        from fraudguard.io.renewing_producer import RenewingProducer

        return RenewingProducer(conf, auto_renew=renew_on_fatal)  # type: ignore[return-value]  # same interface
    return Producer(conf)


def make_consumer(bootstrap: str, group_id: str | None, **overrides: Any) -> Consumer:
    """A consumer with manual offset commits (engines commit after their sinks flush).

    ``group_id=None`` gives a group-less consumer for ``assign()`` reads (tests, replay
    checks, the Spark source); a throwaway group id is set because librdkafka needs one.
    """
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group_id or "fraudguard-reader",
        "logger": CLIENT_LOG,
        **CONSUMER_DEFAULTS,
        **overrides,
    }
    return Consumer(conf)


def make_admin(bootstrap: str, **overrides: Any) -> AdminClient:
    """An admin client whose librdkafka log lines go to :data:`CLIENT_LOG`."""
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": CLIENT_LOG, **overrides}
    return AdminClient(conf)


def check_reachable(bootstrap: str, timeout: float = 10.0) -> str | None:
    """Raise :class:`BrokerError` naming ``bootstrap`` unless a broker answers metadata;
    return the cluster id it answered (``None`` when the broker sends none)."""
    admin = make_admin(bootstrap, **{"socket.timeout.ms": int(timeout * 1000)})
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as e:
        raise BrokerError(f"no Kafka broker answers at {bootstrap}") from e
    return cast("str | None", metadata.cluster_id)


def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int, timeout: float = 15.0, replication_factor: int = -1
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    ``replication_factor=-1`` takes the broker's ``default.replication.factor`` (``min(3, N)``
    on our Apache Kafka clusters; Tansu accepts it too), so a topic created by any command
    never has fewer replicas than ``min.insync.replicas`` needs for ``acks=all``.

    Existing topics are left as they are (their partition count is not changed): a real
    cluster's topics belong to its operators.
    """
    admin = make_admin(bootstrap)
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as e:
        raise BrokerError(f"no Kafka broker answers at {bootstrap}") from e
    wanted = [t for t in dict.fromkeys(topics) if t not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor) for t in wanted],
        operation_timeout=timeout,
    )
    created: list[str] = []
    for name, fut in futures.items():
        try:
            fut.result(timeout)
            created.append(name)
        except KafkaException as e:
            if e.args and e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise BrokerError(f"cannot create topic {name!r} on {bootstrap}: {e}") from e
    _wait_for_metadata(admin, created, timeout)
    return created


def _wait_for_metadata(admin: AdminClient, topics: list[str], timeout: float) -> None:
    """Wait until newly created topics show their partitions in metadata."""
    deadline = time.monotonic() + timeout
    while topics and time.monotonic() < deadline:
        md = admin.list_topics(timeout=timeout).topics
        if all(t in md and md[t].partitions and md[t].error is None for t in topics):
            return
        time.sleep(0.05)


def partition_count(bootstrap: str, topic: str, timeout: float = 10.0) -> int:
    """Number of partitions of ``topic`` (0 when it does not exist)."""
    admin = make_admin(bootstrap)
    try:
        md = admin.list_topics(topic=topic, timeout=timeout).topics.get(topic)
    except KafkaException as e:
        raise BrokerError(f"no Kafka broker answers at {bootstrap}") from e
    return 0 if md is None or md.error is not None else len(md.partitions)


def flush_or_raise(producer: Producer, timeout: float = 60.0) -> None:
    """Flush a producer; :class:`BrokerError` if messages are still queued after ``timeout``."""
    remaining = producer.flush(timeout)
    if remaining:
        raise BrokerError(f"{remaining} messages not delivered within {timeout:.0f}s")


def headers_dict(headers: Iterable[tuple[str, bytes | None]] | None) -> Mapping[str, bytes | None]:
    """Kafka message headers as a dict (last value wins)."""
    return dict(headers or ())
