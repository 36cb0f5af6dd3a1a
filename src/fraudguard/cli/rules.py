"""``fraudguard rules``: list the stored rules, backtest a condition, time the backtest."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags

rules_app = typer.Typer(help="Analyst rules: list, backtest over the Parquet history, benchmark.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("list")
@clean_errors
def list_rules(
    state: str | None = typer.Option(None, help="Only rules in this state (draft, shadow, active)."),
) -> None:
    """Current version of every stored rule, highest priority first."""
    from fraudguard.errors import ConfigError
    from fraudguard.io import pg_rules
    from fraudguard.io.pg_schema import migrate
    from fraudguard.io.postgres import connect

    settings = settings_from_flags()
    if not settings.database_dsn:
        raise ConfigError("no database configured (FRAUDGUARD_DATABASE_URL)")
    with connect(settings.database_dsn, autocommit=True) as conn:
        migrate(conn)
        for r in pg_rules.list_rules(conn, state):
            console.print(
                f"{r['id']:>5} v{r['version']:<3} {r['state']:<7} {r['action']:<7} p{r['priority']:<6} {r['name']}: {r['condition']}"
            )


@rules_app.command("backtest")
@clean_errors
def backtest_cmd(
    condition: str = typer.Argument(..., help='The condition, e.g. "amount > 1000 and score_ensemble > 0.3".'),
    since: str = typer.Option("7d", help="How far back: 36h, 7d ..."),
    parquet_dir: Annotated[
        Path | None, typer.Option(help="Prediction history (default: the settings' parquet dir).")
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Per day: hits, precision and recall against known labels, overlap with model alerts, extra alerts."""
    from fraudguard.io.backtest import backtest, parse_since

    root = parquet_dir or settings_from_flags().parquet_dir
    out = backtest(root, condition, since=parse_since(since))
    if as_json:
        console.print_json(json.dumps({**out, "since": since}, default=str))
        return
    _print(out)


def _print(out: dict) -> None:  # type: ignore[type-arg]
    def pct(v: float | None) -> str:
        return "   -  " if v is None else f"{100 * v:5.1f}%"

    console.print(f"{out['rows']:,} transactions in {out['seconds']:.3f}s")
    console.print("day          transactions   hits  precision  recall  model_alerts  overlap  extra/1000")
    for d in [*out["days"], *([{**out["total"], "day": "total"}] if out["total"] else [])]:
        console.print(
            f"{d['day']!s:<12} {d['transactions']:>12,} {d['hits']:>6,}   {pct(d['precision'])}  {pct(d['recall'])}"
            f"  {d['model_alerts']:>12,} {d['overlap_with_model']:>8,} {d['extra_alerts_per_1000']:>10.2f}"
        )


@rules_app.command("bench")
@clean_errors
def bench(
    rows: int = typer.Option(1_000_000, help="Rows of synthetic history (one day).", min=1000),
    condition: str = typer.Option(
        "amount > 1000 and merchant_category in ('jewelry', 'electronics') or score_xgboost > 0.9",
        help="Condition to backtest.",
    ),
    repeat: int = typer.Option(3, help="Timed runs (the best and all are printed).", min=1),
) -> None:
    """Write one day of synthetic predictions as Parquet (in batches of 2,000), time the backtest."""
    from datetime import UTC, datetime, timedelta

    from fraudguard.io.backtest import backtest, synthetic_history

    with tempfile.TemporaryDirectory(prefix="fg-backtest-") as tmp:
        files = synthetic_history(Path(tmp), rows, day="2026-03-01")
        times = []
        for _ in range(repeat):
            out = backtest(tmp, condition, since=timedelta(days=2), now=datetime(2026, 3, 2, 12, tzinfo=UTC))
            times.append(out["seconds"])
        console.print(
            f"backtest of {out['rows']:,} rows in {files:,} Parquet files: best {min(times):.3f}s, runs "
            + ", ".join(f"{t:.3f}s" for t in times)
            + f"; hits {out['total']['hits']:,}"
        )


@rules_app.command("webhook-bench")
@clean_errors
def webhook_bench(
    events: int = typer.Option(1000, help="Events for the steady scenario.", min=10),
    down: float = typer.Option(30.0, help="Seconds the receiver is down in the outage scenario.", min=0),
) -> None:
    """Webhook delivery figures: steady throughput, a flaky receiver, an outage (embedded PostgreSQL)."""
    import logging

    from fraudguard.bench.webhooks import run

    logging.getLogger("fraudguard.webhooks.worker").setLevel(logging.ERROR)
    run(events, down)
