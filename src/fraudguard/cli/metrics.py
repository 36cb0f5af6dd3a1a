"""``fraudguard metrics``: the live metrics tracker on its own, with a Prometheus endpoint."""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, fail, settings_from_flags


@app.command()
@clean_errors
def metrics(
    every: int | None = typer.Option(None, help="Recompute after this many predictions or labels (default 100)."),
    port: int = typer.Option(9108, help="Serve Prometheus /metrics on this port (0: do not serve).", min=0, max=65535),
    from_end: bool = typer.Option(False, "--from-end", help="Only count predictions that arrive from now on."),
    interval: float = typer.Option(5.0, help="Seconds between printed summaries.", min=0.1),
    as_json: bool = typer.Option(False, "--json", help="Print each summary as one JSON line."),
) -> None:
    """Consume `predictions` and `labels` and keep per-model metrics (cumulative, last 1,000, last 5 min)."""
    from prometheus_client import start_http_server

    from fraudguard.errors import ConfigError, ModelError
    from fraudguard.io.kafka import check_reachable, require_bootstrap
    from fraudguard.io.metrics_consumer import MetricsTracker
    from fraudguard.metrics.online import OnlineMetrics
    from fraudguard.metrics.prometheus import make_registry

    settings = settings_from_flags(metrics_every=every)
    bootstrap = require_bootstrap(settings)
    check_reachable(bootstrap, timeout=5.0)
    thresholds: dict[str, float] = {}
    try:
        from fraudguard.models.scorer import Scorer

        scorer = Scorer.load(settings.models_dir)
        thresholds = {m: t.value for m, t in scorer.model_thresholds.items() if m != "ensemble"}
    except ModelError as e:  # no usable registry here: base models are judged at the ensemble threshold
        console.print(f"no model registry ({e}): base models use the ensemble threshold", style="dim")
    from fraudguard.io.sinks.challenger import challenger_topic, drift_topic
    from fraudguard.metrics.drift_feed import DriftFeed, card_reference
    from fraudguard.metrics.versions import VersionMetrics

    tracker = MetricsTracker(
        bootstrap, OnlineMetrics(thresholds, snapshot_every=settings.metrics_every),
        predictions_topic=settings.topic_predictions, labels_topic=settings.topic_labels, from_beginning=not from_end,
        versions=VersionMetrics(), challengers_topic=challenger_topic(settings.topic_predictions),
        drift=DriftFeed(card_reference(settings.models_dir)), drift_topic=drift_topic(settings.topic_predictions),
    )  # fmt: skip
    if port:
        try:
            start_http_server(port, addr=settings.api_host, registry=make_registry(tracker.snapshot))
        except OSError as e:
            raise ConfigError(f"cannot serve Prometheus metrics on {settings.api_host}:{port}") from e
        console.print(f"Prometheus metrics on http://{settings.api_host}:{port}/metrics")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tracker.start()
    try:
        while not stop.wait(interval):
            snap = tracker.snapshot()
            if tracker.error is not None:
                fail(f"metrics tracker stopped: {tracker.error}")
            if as_json:
                print(json.dumps(snap), flush=True)
                continue
            ens = snap["windows"]["cumulative"]["models"]["ensemble"]
            console.print(
                f"{snap['windows']['cumulative']['transactions']:,} predictions, {snap['throughput_tps']:.0f}/s, lag {snap['lag']}; "
                f"ensemble P={_f(ens['precision'])} R={_f(ens['recall'])} F1={_f(ens['f1'])} PR-AUC={_f(ens['pr_auc'])}"
            )
    finally:
        tracker.stop()


def _f(v: float | None) -> str:
    """A metric for the summary line: three decimals, ``-`` while undefined (no labels yet)."""
    return "-" if v is None else f"{v:.3f}"
