"""``fraudguard evaluate``: score a labelled dataset with a registered model and report on it.

Same inputs as ``train`` (``--data``, or ``--format ulb|sparkov|table --input --map``). The
rows are scored in event-time order through the model's own feature pipeline from empty
state (or after a warm-up period), so the numbers are the ones the stream would produce.
Writes ``evaluation.json``, ``pr_curve.png`` and ``score_distribution.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags
from fraudguard.cli.train import InputFormat, load_training_input


def _plots(out: Path, rows: Any, base: Any, ens: Any, threshold: float) -> list[Path]:
    """PR curves of every model and the ensemble's score distribution per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import precision_recall_curve

    from fraudguard import schema
    from fraudguard.models.evaluation import labels_of

    y = labels_of(rows)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, s in [*((m, base[:, j]) for j, m in enumerate(schema.MODEL_NAMES)), (schema.ENSEMBLE, ens)]:
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, label=name, lw=2 if name == schema.ENSEMBLE else 1)
    ax.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower left")
    pr = out / "pr_curve.png"
    fig.savefig(pr, dpi=110, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    bins = np.linspace(0, 1, 51).tolist()
    ax.hist(ens[y == 0], bins=bins, alpha=0.6, label="legitimate", density=True, log=True)
    ax.hist(ens[y == 1], bins=bins, alpha=0.6, label="fraud", density=True, log=True)
    ax.axvline(threshold, color="k", ls="--", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="ensemble score", ylabel="density (log)", title="score distribution")
    ax.legend()
    dist = out / "score_distribution.png"
    fig.savefig(dist, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [pr, dist]


@app.command()
@clean_errors
def evaluate(
    model: Annotated[str, typer.Option("--model", help="Registry version, or 'current'.")] = "current",
    data: Annotated[Path | None, typer.Option("--data", help="Transaction frame as Parquet.")] = None,
    fmt: Annotated[InputFormat | None, typer.Option("--format", help="Layout of --input.")] = None,
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Dataset file (CSV, or Parquet for table).")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option("--map", help="table format: field=COLUMN pairs (as for train).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 time that relative times count from.")] = None,
    warmup_until: Annotated[
        str | None, typer.Option("--warmup-until", help="ISO-8601 time: earlier rows only build state.")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Alerts reviewed per day (precision@k).", min=1)] = 100,
    registry: Annotated[Path | None, typer.Option("--registry", help="Registry directory.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for evaluation.json and the PNGs.")] = Path(
        "evaluation"
    ),
) -> None:
    """Score a labelled dataset in event-time order with a registered model; metrics, JSON and plots."""
    import json

    import pandas as pd
    from rich.table import Table

    from fraudguard.errors import DataFormatError
    from fraudguard.models.evaluation import build_report, labels_of, score_history
    from fraudguard.models.scorer import Scorer

    root = registry or settings_from_flags().models_dir
    scorer = Scorer.load(root, None if model == "current" else model)
    warm = None
    if warmup_until is not None:
        try:
            warm = pd.Timestamp(warmup_until)
        except ValueError as e:
            raise DataFormatError(f"--warmup-until: {warmup_until!r} is not an ISO-8601 time") from e
        warm = warm.tz_localize("UTC") if warm.tzinfo is None else warm.tz_convert("UTC")
    frame, path, _kind, note = load_training_input(data, fmt, input_path, mapping, start)
    if note:
        console.log(f"read {len(frame):,} transactions from {path}; {note}")
    labels_of(frame)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataFormatError(f"--out: cannot create {out} ({e.strerror})") from e
    console.log(f"scoring {len(frame):,} transactions with {scorer.version} in event-time order")
    rows, base, ens = score_history(scorer, frame, warm)
    report = build_report(scorer, rows, base, ens, top_k)
    report["input"] = str(path)
    report["warmup_until"] = warm.isoformat() if warm is not None else None
    pngs = _plots(out, rows, base, ens, scorer.thresholds.value)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    table = Table(title=f"{scorer.version}: {report['rows']:,} rows, {report['frauds']:,} frauds")
    for col in ("model", "PR-AUC", "ROC-AUC", "recall@1%FPR", "recall@0.1%FPR", f"prec@top{top_k}/day", "cost"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, m in report["models"].items():
        table.add_row(
            name,
            *(f"{m[k]:.4f}" for k in ("pr_auc", "roc_auc", "recall_at_1pct_fpr", "recall_at_0_1pct_fpr")),
            f"{m['precision_top_k_per_day']:.4f}",
            f"{m['expected_cost']:,.0f}",
        )
    console.print(table)
    for name, s in report.get("scenarios", {}).items():
        console.print(f"scenario {name}: {s['frauds']} frauds, ensemble recall@1%FPR {s['recall_at_1pct_fpr']:.3f}")
    console.print(f"wrote {out / 'evaluation.json'}, {pngs[0].name}, {pngs[1].name}")
