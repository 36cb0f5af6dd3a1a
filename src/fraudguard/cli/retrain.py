"""``fraudguard retrain``: a challenger from recent history and feedback, evaluated against the champion."""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, err_console, settings_from_flags


@app.command()
@clean_errors
def retrain(
    since: str = typer.Option("30d", help="History to use, back from the newest transaction (30d, 12h, ...)."),
    label_delay: str = typer.Option("0s", help="Leave out the newest transactions whose labels are not final (7d)."),
    eval_fraction: float = typer.Option(
        0.2, help="Most recent share of the history kept for evaluation.", min=0.05, max=0.5
    ),
    max_rows: int = typer.Option(
        2_000_000,
        help="Most transactions whose features are held (~290 B each); above it legitimate ones are sampled.",
        min=2000,
    ),
    seed: int = typer.Option(0, help="Seed of that sample (the same history and seed hold the same rows).", min=0),
    every: str | None = typer.Option(None, help="Run again at this interval (1d) until stopped."),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation report as JSON."),
) -> None:
    """Train on the engine's history with labels (analyst labels win), register a challenger, compare it with the champion."""
    from fraudguard.errors import FraudGuardError
    from fraudguard.io.embedded_postgres import resolve_database_url
    from fraudguard.io.retrain_io import retrain_once
    from fraudguard.models.retrain import RetrainPlan, parse_duration

    settings = settings_from_flags()
    plan = RetrainPlan(parse_duration(since), parse_duration(label_delay), eval_fraction, max_rows, seed)
    interval = parse_duration(every).total_seconds() if every else None
    url, embedded = resolve_database_url(settings, allow_embedded=settings.environment == "development")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if interval:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        while True:
            try:
                report = retrain_once(settings, plan, database_url=url, say=lambda m: console.print(f"[dim]{m}[/]"))
                _show(report, as_json)
            except FraudGuardError as e:
                if not interval:
                    raise
                err_console.print(f"[bold red]retrain failed:[/] {e} (next attempt in {every})")
            if not interval or stop.wait(interval):
                return
    finally:
        if embedded is not None:
            embedded.stop()


def _show(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    ch, champ = report["challenger"], report["champion"]
    console.print(
        f"challenger {ch}: PR-AUC {report['pr_auc'][ch]:.4f} vs champion {champ} {report['pr_auc'][champ]:.4f} "
        f"on {report['labelled']:,} labelled transactions ({report['window']['from']} .. {report['window']['to']}); "
        f"alert overlap {report['alert_overlap'][ch]}; trained in {report['seconds']:.0f}s"
    )
    console.print(f"report: {report['report_path']}; promote with `fraudguard promote {ch}`")
