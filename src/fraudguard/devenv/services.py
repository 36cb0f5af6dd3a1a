"""Brokers and PostgreSQL for a development run: use what is configured, else start one.

A broker: ``KAFKA_BOOTSTRAP_SERVERS`` when set; else the embedded Tansu (memory only, no
JVM) on a free port, or an Apache Kafka KRaft cluster from the pinned jars when asked for.
PostgreSQL: the configured URL; else the local server at 127.0.0.1:5432 if it answers
(the project machines have one, with trust authentication); else an embedded PostgreSQL
under the state directory. Each comes back as a :class:`Service`: where it is, a note for
reports, and a ``stop()`` that stops only what was started here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fraudguard.io.broker import EmbeddedBroker, free_port, port_is_free
from fraudguard.io.embedded_postgres import DEFAULT_DATABASE, EmbeddedPostgres
from fraudguard.io.kafka_cluster import KAFKA_VERSION, KafkaCluster, default_kafka_lib

LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
"""The project machines' PostgreSQL (trust authentication); tried before starting one."""


class Stoppable(Protocol):
    def stop(self) -> object: ...


@dataclass
class Service:
    """A running service: ``address`` (bootstrap servers or database URL) and who started it."""

    address: str
    note: str
    """How it was found or started (for reports and the demo's output)."""
    process: Stoppable | None = None
    """What was started here (``None``: configured or found running: never stopped here)."""

    def stop(self) -> None:
        """Stop what was started here; a service found running is left alone."""
        if self.process is not None:
            self.process.stop()
            self.process = None


def start_tansu(*, port: int | None = None, log_path: Path | None = None) -> EmbeddedBroker:
    """The embedded Tansu broker on ``port`` when that is free, else on a free port."""
    if port is None or not port_is_free("127.0.0.1", port):
        port = free_port()
    return EmbeddedBroker(port=port, log_path=log_path).start()


def start_kafka(root: Path, *, brokers: int = 1, lib: Path | None = None, timeout: float = 180.0) -> KafkaCluster:
    """A started Apache Kafka KRaft cluster with its data and logs under ``root``."""
    return KafkaCluster(root, lib or default_kafka_lib(), brokers=brokers).start(timeout=timeout)


def open_broker(
    configured: str | None,
    state_dir: Path,
    *,
    kind: str = "tansu",
    port: int | None = None,
    brokers: int = 1,
    lib: Path | None = None,
    log_path: Path | None = None,
) -> Service:
    """The configured bootstrap servers, else a started broker of ``kind`` (``tansu`` or ``kafka``)."""
    if configured:
        return Service(configured, f"external {configured}")
    if kind == "kafka":
        cluster = start_kafka(state_dir / "kafka", brokers=brokers, lib=lib)
        note = f"Apache Kafka {KAFKA_VERSION}, {cluster.brokers} node(s), on {cluster.bootstrap_servers}"
        return Service(cluster.bootstrap_servers, note, cluster)
    tansu = start_tansu(port=port, log_path=log_path)
    note = f"embedded Tansu on {tansu.bootstrap_servers} (memory only, pid {tansu.pid})"
    return Service(tansu.bootstrap_servers, note, tansu)


def answers(url: str) -> bool:
    """Whether a PostgreSQL server accepts a connection at ``url`` within two seconds."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def open_postgres(
    data_dir: Path,
    *,
    configured: str | None = None,
    configured_note: str = "configured PostgreSQL",
    check_configured: bool = False,
    try_local: bool = True,
    database: str = DEFAULT_DATABASE,
) -> Service:
    """A PostgreSQL URL: ``configured`` (if it answers, with ``check_configured``), the local
    server (``try_local``, if it answers), else an embedded server in ``data_dir`` whose
    database ``database`` is created on first start."""
    if configured and (not check_configured or answers(configured)):
        return Service(configured, configured_note)
    if try_local and answers(LOCAL_POSTGRES_URL):
        return Service(LOCAL_POSTGRES_URL, "local PostgreSQL at 127.0.0.1:5432")
    server = EmbeddedPostgres(data_dir, database=database)
    return Service(server.start(), "embedded PostgreSQL", server)
