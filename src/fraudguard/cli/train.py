"""``fraudguard train``: features, XGBoost + Random Forest + Isolation Forest + ensemble, registry."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags


class InputFormat(StrEnum):
    """Dataset layouts ``replay`` also reads."""

    ulb = "ulb"
    sparkov = "sparkov"
    table = "table"


class Policy(StrEnum):
    """Which validation threshold the scorer decides with."""

    best_f1 = "best_f1"
    target_fpr = "target_fpr"
    cost = "cost"


def _sha256_path(path: Path) -> str:
    """sha256 of the input file (the card's data identity)."""
    from fraudguard.models.registry import sha256_file

    return sha256_file(path)


def read_frame_parquet(path: Path) -> Any:
    """A transaction frame written by ``fraudguard generate --to FILE.parquet`` (or ``schema.to_frame``)."""
    import pandas as pd

    from fraudguard.errors import DataFormatError
    from fraudguard.records import TRANSACTION_COLUMNS, arrays_to_frame, transaction_arrays

    try:
        frame = pd.read_parquet(path)
    except Exception as e:
        raise DataFormatError(f"--data: {path} is not a readable Parquet file") from e
    missing = [c for c in TRANSACTION_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFormatError(f"--data: {path} lacks column {missing[0]!r} of a transaction frame")
    try:
        return arrays_to_frame(*transaction_arrays(frame))
    except (TypeError, ValueError) as e:
        raise DataFormatError(f"--data: {path} has a column of the wrong type ({e})") from e


def load_training_input(
    data: Path | None, fmt: InputFormat | None, input_path: Path | None, mapping: str | None, start: str | None
) -> tuple[Any, Path, str, str]:
    """``(frame, path, format, note)`` from ``--data`` or ``--format/--input`` (the readers ``replay`` uses)."""
    from fraudguard.cli.generate import parse_start
    from fraudguard.errors import DataFormatError
    from fraudguard.generator.dataset_formats import parse_mapping
    from fraudguard.generator.datasets import read_dataset

    if data is not None and (fmt is not None or input_path is not None):
        raise DataFormatError("give either --data or --format with --input, not both")
    if data is not None:
        if not data.is_file():
            raise DataFormatError(f"--data: {data} does not exist")
        return read_frame_parquet(data), data, "frame", ""
    if fmt is None or input_path is None:
        raise DataFormatError("give --data FILE.parquet, or --format (ulb|sparkov|table) with --input PATH")
    if mapping is not None and fmt is not InputFormat.table:
        raise DataFormatError("--map applies to --format table only")
    frame, bad = read_dataset(fmt.value, input_path, parse_mapping(mapping), parse_start(start))
    return frame, input_path, fmt.value, bad.summary()


@app.command()
@clean_errors
def train(
    data: Annotated[
        Path | None, typer.Option("--data", help="Transaction frame as Parquet (e.g. from `generate`).")
    ] = None,
    fmt: Annotated[InputFormat | None, typer.Option("--format", help="Layout of --input.")] = None,
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Dataset file (CSV, or Parquet for table).")
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option("--map", help="table format: field=COLUMN pairs, e.g. card_id=cc,time=ts,amount=amt,label=y."),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="ISO-8601 time that relative times (ULB's Time) count from.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Registry directory (default: FRAUDGUARD_STATE_DIR/models).")
    ] = None,
    policy: Annotated[
        Policy, typer.Option("--threshold-policy", help="Decision threshold of the scorer.")
    ] = Policy.best_f1,
    fpr_target: Annotated[
        float, typer.Option(help="False positive budget of the target_fpr threshold.", min=0.0, max=0.5)
    ] = 0.01,
    xgb_trees: Annotated[
        int, typer.Option(help="Most XGBoost rounds (early stopping on validation picks fewer).", min=1, max=5000)
    ] = 300,
    rf_trees: Annotated[int, typer.Option(help="Random Forest trees.", min=1, max=2000)] = 30,
    if_trees: Annotated[int, typer.Option(help="Isolation Forest trees.", min=1, max=2000)] = 20,
    cost_ratio: Annotated[
        float, typer.Option(help="Average fraud loss / cost of one review (cost threshold).", min=0.001)
    ] = 20.0,
    merchant_lag_s: Annotated[
        int,
        typer.Option(
            help="Merchant windows end this many seconds (multiple of 300) before the row: same merchant "
            "features under any partition interleaving up to the lag, at some cost in detection.",
            min=0,
        ),
    ] = 0,
    label_delay_days: Annotated[
        float, typer.Option(help="Days after a transaction its label counts in features (also in the stream).", min=0)
    ] = 7.0,
    refit: Annotated[
        bool,
        typer.Option(
            help="Refit XGBoost and the Random Forest on train + validation with the settings validation chose "
            "(--no-refit: keep the models fitted on the first 60%).",
        ),
    ] = True,
) -> None:
    """Train every model on a time-ordered split, report test metrics and register a new version."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from fraudguard.models.estimators import TrainConfig
    from fraudguard.models.registry import ensure_registry_dir
    from fraudguard.models.trainer import train_and_register

    registry = ensure_registry_dir(out or settings_from_flags().models_dir)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading input", total=None)
        frame, path, kind, note = load_training_input(data, fmt, input_path, mapping, start)
        source = {"path": str(path.resolve()), "format": kind, "sha256": _sha256_path(path), "rows_read": len(frame)}
        if note:
            source["bad_rows"] = note
            console.log(f"read {len(frame):,} transactions from {path}; {note}")

        def step(message: str) -> None:
            bar.update(task, description=message, total=None, completed=0)
            console.log(message)

        def chunk(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        cfg = TrainConfig(
            xgb_trees=xgb_trees,
            rf_trees=rf_trees,
            if_trees=if_trees,
            threshold_policy=policy.value,
            fpr_target=fpr_target,
            cost_ratio=cost_ratio,
            refit=refit,
        )
        from dataclasses import replace

        from fraudguard.models.trainer import TRAINING_FEATURES

        features = replace(TRAINING_FEATURES, merchant_lag_s=merchant_lag_s, label_delay_s=label_delay_days * 86400)
        version, card = train_and_register(
            frame, registry, source=source, feature_config=features, cfg=cfg, step=step, on_chunk=chunk
        )

    table = Table(
        title=f"test split ({card.data['splits']['test']['rows']:,} rows, {card.data['splits']['test']['frauds']:,} frauds)"
    )
    for col in (
        "model",
        "PR-AUC",
        "ROC-AUC",
        "recall@1%FPR",
        "recall@0.1%FPR",
        "precision",
        "recall",
        "F1",
        "threshold",
    ):
        table.add_column(col, justify="right" if col != "model" else "left")
    for name, m in card.metrics["test"].items():
        table.add_row(
            name,
            *(
                f"{m[k]:.4f}"
                for k in (
                    "pr_auc",
                    "roc_auc",
                    "recall_at_1pct_fpr",
                    "recall_at_0_1pct_fpr",
                    "precision",
                    "recall",
                    "f1",
                    "threshold",
                )
            ),
        )
    console.print(table)
    for warning in card.warnings:
        console.print(f"[bold yellow]WARNING[/]: {warning}")
    iso = card.selection.get("isolation_forest")
    if iso:
        console.print(
            f"Isolation Forest {'kept in' if iso['kept_in_ensemble'] else 'left out of'} the ensemble: "
            f"validation PR-AUC with {iso['validation_pr_auc_with']:.4f}, without {iso['validation_pr_auc_without']:.4f}"
        )
    final = card.selection.get("final_fit")
    if final:
        before = final["test_before_refit"]["ensemble"]
        console.print(
            f"XGBoost and Random Forest refitted on train + validation ({final['rows']:,} rows, "
            f"{final['frauds']:,} frauds): ensemble test PR-AUC {before['pr_auc']:.4f} before the refit"
        )
    ab = card.metrics["stateful_ablation"]
    without = ab["pr_auc_without_stateful"]
    console.print(
        f"XGBoost test PR-AUC with stateful features {ab['pr_auc_with_stateful']:.4f}, "
        + (f"without {without:.4f}" if without is not None else f"without: n/a ({ab.get('note')})")
    )
    console.print(
        f"registered [bold]{version}[/] in {registry} (CURRENT); decision: ensemble >= {card.decision.threshold:.4f} ({card.decision.policy})"
    )
