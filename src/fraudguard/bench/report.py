"""The benchmark report: a rich table on the console, a JSON file and a PNG chart.

The table shows, per line, the target, the measured value and met / missed; above it
the date, machine, load average at the start and git commit, because a figure measured
on a loaded, shared 2-core machine means something else than one from a quiet server.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from fraudguard.errors import FraudGuardError

_STYLE = {"met": "green", "missed": "bold red", "failed": "bold red", "info": "dim", "not run": "dim"}


def fmt(value: float | None, unit: str) -> str:
    """A number for the table: thousands separators, ratios with an ``x``, NaN as ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "x":
        return f"{value:,.1f}x"
    if unit == "":
        return f"{value:.3f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.1e}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}"


def target_text(line: dict[str, Any]) -> str:
    """``>= 100,000 tx/s`` / ``<= 50 ms`` / empty."""
    if line["target"] is None:
        return ""
    lower_better = not line["higher_is_better"] if "higher_is_better" in line else line["unit"] in ("ms", "s")
    return f"{'<=' if lower_better else '>='} {fmt(line['target'], line['unit'])}"


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    """Machine facts, then one table row per report line, then every benchmark's error if any."""
    console = console or Console()
    m = report["machine"]
    load = " / ".join(f"{v:.2f}" for v in m["load_average_start"])
    console.print(
        f"[bold]FraudGuard benchmark[/] {'(quick mode) ' if report['quick'] else ''}{m['date']}  "
        f"commit {m['git_commit'] or '-'}\n{m['cores']} cores, {m['ram_gib']} GiB RAM, {m['cpu_model']}, "
        f"load average at start {load} (1/5/15 min)"
    )
    table = Table(show_lines=False)
    for col, justify in (("bench", "left"), ("measure", "left"), ("target", "right"), ("measured", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("status")
    for line in report["lines"]:
        status = line["status"]
        if status == "not run":
            continue
        table.add_row(
            line["bench"],
            line["measure"],
            target_text(line),
            fmt(line["measured"], line["unit"]),
            f"[{_STYLE.get(status, '')}]{status}[/]",
        )
    console.print(table)
    for name, section in report["results"].items():
        if "error" in section:
            console.print(f"[bold red]{name} failed:[/] {section['error']}")
        elif section.get("note"):
            console.print(f"[dim]{name}: {section['note']}[/]")
    console.print(f"[dim]services: {report['services']}[/]")


def ensure_output_dir(directory: Path) -> Path:
    """Create ``directory`` for the report; :class:`FraudGuardError` naming it if that fails.

    ``bench`` calls it before the first benchmark so a bad ``--out`` does not cost a run.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FraudGuardError(f"cannot create report directory {directory}") from e
    return directory


def write_json(report: dict[str, Any], path: Path) -> None:
    """The whole report (settings, machine, every measurement, the lines) as JSON."""
    ensure_output_dir(path.parent)
    try:
        path.write_text(json.dumps(report, indent=2, default=str))
    except OSError as e:
        raise FraudGuardError(f"cannot write the report to {path}") from e
