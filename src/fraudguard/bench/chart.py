"""A one-page PNG of the benchmark: each measured path next to its naive baseline and target.

matplotlib (a base dependency: ``evaluate`` draws with it too) draws it with the Agg backend, no display needed. Four
panels: scoring core per batch size, engines, latency percentiles per rate, API. Rates
are on a log scale because the naive baselines are orders of magnitude below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fraudguard.errors import FraudGuardError


def _bars(ax: Any, labels: list[str], values: list[float], colors: list[str], title: str, unit: str) -> None:
    xs = range(len(values))
    ax.bar(xs, values, color=colors)
    ax.set_xticks(list(xs), labels, rotation=20, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit)
    if values and min(values) > 0 and max(values) / min(values) > 30:
        ax.set_yscale("log")
    for x, v in zip(xs, values, strict=True):
        ax.annotate(f"{v:,.0f}", (x, v), ha="center", va="bottom", fontsize=7)


def _target(ax: Any, value: float, label: str) -> None:
    ax.axhline(value, color="crimson", linestyle="--", linewidth=1)
    ax.annotate(label, (0.01, value), xycoords=("axes fraction", "data"), color="crimson", fontsize=7, va="bottom")


def _ok(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    section = results.get(name)
    return None if section is None or "error" in section else section


def draw_chart(report: dict[str, Any], path: Path) -> Path:
    """Write the PNG to ``path``; :class:`FraudGuardError` if matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise FraudGuardError("the chart needs matplotlib, a fraudguard dependency: pip install matplotlib") from e
    results = report["results"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    blue, grey = "#3b6ea8", "#b0b0b0"
    core = _ok(results, "core")
    if core:
        labels = [f"batch {b['batch']:,}" for b in core["batches"]] + ["naive per-row"]
        values = [b["rows_s"] for b in core["batches"]] + [core["naive"]["rows_s"]]
        _bars(axes[0, 0], labels, values, [blue] * len(core["batches"]) + [grey], "Scoring core", "tx/s")
        _target(axes[0, 0], 100_000, "target 100k tx/s")
    engine, spark = _ok(results, "engine"), _ok(results, "spark")
    labels, values, colors = [], [], []
    if engine:
        labels += ["local, assign()", "local, group", "naive consumer"]
        values += [engine["assign"]["rows_s"], engine["group"]["rows_s"], engine["naive"]["rows_s"]]
        colors += [blue, blue, grey]
    if spark and spark.get("rows_s"):
        labels.append("spark local[2]")
        values.append(spark["rows_s"])
        colors.append(blue)
    if values:
        _bars(axes[0, 1], labels, values, colors, "Engines, every sink", "tx/s")
        _target(axes[0, 1], 50_000, "target 50k tx/s")
    latency = _ok(results, "latency")
    if latency:
        ax = axes[1, 0]
        width = 0.25
        for k, q in enumerate(("p50_ms", "p95_ms", "p99_ms")):
            xs = [i + (k - 1) * width for i in range(len(latency["runs"]))]
            ax.bar(xs, [r[q] for r in latency["runs"]], width, label=q.split("_")[0])
        ax.set_xticks(range(len(latency["runs"])), [f"{r['tps']:,.0f} tx/s" for r in latency["runs"]])
        ax.set_title("Produce -> decision latency", fontsize=10)
        ax.set_ylabel("ms")
        ax.legend(fontsize=8)
        _target(ax, 100, "target p99 100 ms at 5k tx/s")
    api = _ok(results, "api")
    if api:
        labels = ["FraudGuard API", "naive server"]
        values = [api["fraudguard"]["throughput_rps"] or 0.0, api["naive"]["throughput_rps"] or 0.0]
        _bars(axes[1, 1], labels, values, [blue, grey], f"POST /v1/score, {api['concurrency']} concurrent", "req/s")
        _target(axes[1, 1], 5_000, "target 5k req/s")
    m = report["machine"]
    fig.suptitle(
        f"FraudGuard benchmark {m['date']} · {m['cores']} cores · load {m['load_average_start'][0]:.1f} at start"
        f" · commit {m['git_commit'] or '-'}{' · quick mode' if report['quick'] else ''}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
