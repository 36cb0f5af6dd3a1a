"""``fraudguard spark-cluster``: a Spark standalone master and workers on loopback, in the foreground."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags


@app.command("spark-cluster")
@clean_errors
def spark_cluster(
    workers: int = typer.Option(2, min=1, max=16, help="Worker JVMs."),
    cores: int = typer.Option(1, min=1, max=64, help="Cores each worker offers."),
    memory: str = typer.Option("2g", help="Memory each worker offers to executors (e.g. 2g)."),
    port: int = typer.Option(0, min=0, max=65535, help="Master port on 127.0.0.1 (0: a free port)."),
    ui_port: int = typer.Option(0, min=0, max=65535, help="Master web UI port (0: a free port)."),
) -> None:
    """Start a Spark standalone cluster (pyspark's own Master and Worker classes) on 127.0.0.1.

    Run the engine on it with `fraudguard stream --engine spark --master spark://127.0.0.1:PORT`.
    Logs go to <state dir>/spark-cluster. Ctrl-C or SIGTERM stops every JVM it started.
    """
    from fraudguard.engines.spark.cluster import SparkCluster

    settings = settings_from_flags()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log_dir = settings.state_dir / "spark-cluster"
    cluster = SparkCluster(log_dir, workers=workers, cores_per_worker=cores, memory_per_worker=memory)
    cluster.master_port, cluster.ui_port = port, ui_port
    with cluster:
        console.print(f"[bold green]spark cluster ready[/]: {cluster.alive_workers()} workers x {cores} core(s)")
        console.print(f"master {cluster.master_url}, web UI {cluster.ui_url}, logs {log_dir}")
        console.print(
            f"use it with: fraudguard stream --engine spark --master {cluster.master_url}    (Ctrl-C to stop)"
        )
        while not stop.wait(1.0):
            if cluster.pids_left() == []:
                raise typer.Exit(code=1)
        console.print("stopping spark cluster")
    console.print("spark cluster stopped")
