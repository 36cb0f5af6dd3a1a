"""``fraudguard bench``: measure the scoring core, engines, latency, API and training in one go."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console


@app.command()
@clean_errors
def bench(
    quick: bool = typer.Option(False, "--quick", help="Tiny sizes: a smoke test in a few minutes, not a measurement."),
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON here (default OUT/bench.json).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the JSON report and the PNG chart.")] = Path(
        "bench-results"
    ),
    only: str | None = typer.Option(
        None,
        "--only",
        help="Comma-separated subset of training,models,backends,core,engine,latency,kafka,api,wrk,memory,spark,"
        "spark_cluster (default: all).",
    ),
    chart: bool = typer.Option(True, "--chart/--no-chart", help="Draw OUT/bench.png (needs matplotlib)."),
) -> None:
    """Run the benchmarks side by side with naive baselines; print targets met / missed, write JSON and a PNG.

    Starts an embedded broker and PostgreSQL (FRAUDGUARD_DATABASE_URL, local or embedded) in a temp dir; stops all at the end.

    Targets are reported, never enforced: the exit code is 0 unless a benchmark failed to run.
    """
    from fraudguard.bench.chart import draw_chart
    from fraudguard.bench.report import ensure_output_dir, print_report, write_json
    from fraudguard.bench.runner import parse_only, run_bench

    names = parse_only(only)
    path = json_path or out / "bench.json"
    ensure_output_dir(path.parent)
    if chart:
        ensure_output_dir(out)
    report = run_bench(
        names, quick=quick, say=lambda m: console.print(f"[dim]{m}[/]"), on_result=lambda r: write_json(r, path)
    )
    print_report(report, console)
    write_json(report, path)
    console.print(f"report: {path}")
    if chart:
        console.print(f"chart: {draw_chart(report, out / 'bench.png')}")
    if any("error" in section for section in report["results"].values()):
        raise typer.Exit(1)
