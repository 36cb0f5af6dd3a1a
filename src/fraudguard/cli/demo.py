"""``fraudguard demo``: the whole system on one laptop, started and stopped with one command."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags

DEMO_TRAIN_ROWS = 100_000


def _ensure_model(models_dir: Path, rows: int) -> str:
    """The current model, training one on generated data (with progress) when there is none."""
    from fraudguard.devenv.registry import has_model, train_generated
    from fraudguard.models.registry import current_version

    if has_model(models_dir):
        return current_version(models_dir)
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from fraudguard.models.estimators import TrainConfig

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"generating {rows:,} transactions to train on", total=None)

        def step(message: str) -> None:
            bar.update(task, description=message, total=None, completed=0)
            console.log(message)

        def chunk(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        version = train_generated(
            models_dir,
            rows=rows,
            fraud_rate=0.02,
            seed=1,
            cfg=TrainConfig(),  # the measured defaults: 500k rows train in under a minute
            note="generated (demo)",
            step=step,
            on_chunk=chunk,
        )
    console.print(f"trained model [bold]{version}[/] in {models_dir}")
    return version


@app.command()
@clean_errors
def demo(
    duration: Annotated[float | None, typer.Option(min=1.0, help="Stop by itself after this many seconds.")] = None,
    tps: Annotated[float, typer.Option(min=1.0, help="Generated transactions per second.")] = 200.0,
    fraud_rate: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of generated fraud.")] = 0.02,
    train_rows: Annotated[
        int, typer.Option(min=10_000, help="Rows generated to train a model when none exists.")
    ] = DEMO_TRAIN_ROWS,
    api: Annotated[bool, typer.Option(help="Start the API and dashboard on 127.0.0.1:8000 (if installed).")] = True,
) -> None:
    """Run the whole system on this machine: broker, database, model, generator, engine, API.

    Starts the embedded broker (Tansu; Apache Kafka with FRAUDGUARD_BROKER=kafka) and PostgreSQL
    unless KAFKA_BOOTSTRAP_SERVERS / FRAUDGUARD_DATABASE_URL are set, trains a model on generated data if none exists, then
    the generator, the engine and the API + dashboard. Ctrl-C stops everything and leaves
    no process behind.
    """
    from fraudguard.devenv.services import Service, open_broker, open_postgres
    from fraudguard.engines.common.lifecycle import install_stop_handlers
    from fraudguard.engines.local.supervisor import spawn, stop_all
    from fraudguard.io.kafka import ensure_topics

    settings = settings_from_flags()
    stop = threading.Event()
    install_stop_handlers(stop)
    logs = settings.state_dir / "logs"
    broker: Service | None = None
    pg: Service | None = None
    procs = []
    try:
        broker = open_broker(
            settings.kafka_bootstrap_servers,
            settings.state_dir,
            kind=settings.broker,  # FRAUDGUARD_BROKER=kafka: Apache Kafka from the pinned jars
            port=9092,
            brokers=settings.kafka_brokers,
            lib=settings.kafka_lib_dir,
            log_path=logs / "broker.log",
        )
        bootstrap = broker.address
        if broker.process is not None:
            console.print(broker.note)
        ensure_topics(bootstrap, settings.topics, settings.topic_partitions)
        pg = open_postgres(settings.postgres_dir, configured=settings.database_dsn, try_local=False)
        url = pg.address
        if pg.process is not None:
            console.print(f"embedded PostgreSQL in {settings.postgres_dir}")
        version = _ensure_model(settings.models_dir, train_rows)
        if stop.is_set():
            return
        env = {
            **os.environ,
            **settings.to_env(),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "FRAUDGUARD_DATABASE_URL": url,
            "COLUMNS": "200",
        }
        demo_key = None
        if not settings.api_key_list and not os.environ.get("FRAUDGUARD_API_KEYS"):
            import secrets  # writes always need a key: the demo makes one and shows it here

            demo_key = "fg_demo_" + secrets.token_urlsafe(18)
            env["FRAUDGUARD_API_KEYS"] = demo_key
        py = [sys.executable, "-m", "fraudguard"]
        procs.append(spawn([*py, "stream", "--status-every", "5"], env=env, log_path=logs / "engine.log"))
        if api and importlib.util.find_spec("fraudguard.api.app") is not None:
            procs.append(
                spawn(
                    [*py, "api", "--host", "127.0.0.1", "--port", str(settings.api_port)],
                    env=env,
                    log_path=logs / "api.log",
                )
            )
            console.print(f"dashboard: http://127.0.0.1:{settings.api_port}/  (API docs at /docs)")
            if demo_key:
                console.print(f"API key for this demo (dashboard field, X-API-Key header): {demo_key}")
        gen_seconds = str(duration or 30 * 86_400)
        procs.append(
            spawn(
                [
                    *py,
                    "generate",
                    "--tps",
                    str(tps),
                    "--duration",
                    gen_seconds,
                    "--fraud-rate",
                    str(fraud_rate),
                    "--seed",
                    str(int(time.time())),
                    "--no-progress",
                ],
                env=env,
                log_path=logs / "generator.log",
            )
        )
        console.print(
            f"model {version}; generator at {tps:g} tx/s -> {settings.topic_transactions}; "
            f"logs in {logs}; predictions in PostgreSQL (fraud_predictions) and {settings.parquet_dir}"
        )
        console.print("Ctrl-C to stop everything")
        _watch(stop, procs, logs / "engine.log", duration)
    finally:
        console.print("stopping ...")
        stop_all(procs)
        if pg is not None:
            pg.stop()
        if broker is not None:
            broker.stop()
        console.print("demo stopped; no process left running")


def _watch(stop: threading.Event, procs: list, engine_log: Path, duration: float | None) -> None:
    """Echo the engine's latest status line until stopped, the duration ends or a part dies."""
    started = time.monotonic()
    shown = ""
    while not stop.wait(1.0):
        if duration is not None and time.monotonic() - started >= duration:
            return
        for p in procs:
            if p.poll() is not None:
                console.print(f"[red]a demo process exited with code {p.returncode}[/] (see {engine_log.parent})")
                return
        last = _last_status(engine_log)
        if last and last != shown:
            console.print(last, markup=False)
            shown = last


def _last_status(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if "tx/s" in ln]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""
