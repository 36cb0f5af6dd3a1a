"""``fraudguard promote`` / ``challenger`` / ``roles``: the model lifecycle from the shell.

The actor written to the audit trail is the operating-system user (``$USER``), prefixed
``cli:``; the API writes ``api:<key fingerprint>``.
"""

from __future__ import annotations

import getpass
import json

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


@app.command()
@clean_errors
def promote(
    version: str | None = typer.Argument(None, help="The challenger version to make champion."),
    previous: bool = typer.Option(False, "--previous", help="Roll back to the champion before the current one."),
    force: bool = typer.Option(False, "--force", help="Promote even if the gate refuses (audited as forced)."),
    margin: float = typer.Option(0.01, help="Largest PR-AUC shortfall vs the champion the gate accepts.", min=0, max=1),
) -> None:
    """Promote a challenger to champion when it passes the PR-AUC gate, or roll back with --previous."""
    from fraudguard.errors import ConfigError
    from fraudguard.models import lifecycle

    root = settings_from_flags().models_dir
    if previous == (version is not None):
        raise ConfigError("give either a VERSION or --previous")
    if previous:
        entry = lifecycle.rollback(root, actor=_actor())
        console.print(f"rolled back: champion is {entry['version']} again (was {entry['previous']})")
        return
    assert version is not None
    entry = lifecycle.promote(root, version, actor=_actor(), force=force, margin=margin)
    gate = entry["gate"]
    note = " (FORCED past the gate)" if entry["forced"] else ""
    console.print(f"{version} is champion{note}; previous {entry['previous']}. Gate: {gate['reason']}")


@app.command()
@clean_errors
def challenger(
    version: str = typer.Argument(..., help="A registered version."),
    remove: bool = typer.Option(False, "--remove", help="Stop shadow-scoring it."),
) -> None:
    """Shadow-score a version beside the champion (recorded, never deciding), or stop it."""
    from fraudguard.models import lifecycle

    root = settings_from_flags().models_dir
    if remove:
        roles = lifecycle.remove_challenger(root, version, actor=_actor())
    else:
        roles = lifecycle.add_challenger(root, version, actor=_actor())
    console.print(f"champion {roles.champion}; challengers: {', '.join(roles.challengers) or 'none'}")


@app.command()
@clean_errors
def roles(
    as_json: bool = typer.Option(False, "--json", help="Print roles and the last audit entries as JSON."),
) -> None:
    """Show the champion, the challengers, the rollback history and the recent audit trail."""
    from fraudguard.models import lifecycle

    root = settings_from_flags().models_dir
    data = {**lifecycle.read_roles(root).to_dict(), "audit": lifecycle.read_audit(root, limit=10)}
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(f"champion:    {data['champion']}")
    console.print(f"challengers: {', '.join(data['challengers']) or 'none'}")
    console.print(f"history:     {', '.join(data['history']) or 'none'}")
    for e in data["audit"]:
        forced = " FORCED" if e.get("forced") else ""
        console.print(f"  {e['at']} {e['action']}{forced} {e['version']} by {e['actor']}", style="dim")


@app.command("bench-lifecycle")
@clean_errors
def bench_lifecycle(
    rows: int = typer.Option(50_000, help="Generated transactions to score per run.", min=1000),
    batch: int = typer.Option(2000, help="Micro-batch size (the engine's default).", min=1),
    repeats: int = typer.Option(3, help="Runs of each kind (median reported).", min=1),
) -> None:
    """Measure the CPU cost of shadow-scoring one challenger beside the champion (target: at most +40 %)."""
    from fraudguard.bench.shadow import shadow_overhead
    from fraudguard.generator import generate_frame

    settings = settings_from_flags()
    frame = generate_frame(rows, seed=3)
    result = shadow_overhead(settings.models_dir, frame, batch=batch, repeats=repeats)
    print(json.dumps(result, indent=2))
    verdict = "met" if result["extra_cpu_pct"] <= result["target_pct"] else "missed"
    console.print(f"shadow scoring of one challenger: +{result['extra_cpu_pct']:.1f}% CPU per transaction ({verdict})")
