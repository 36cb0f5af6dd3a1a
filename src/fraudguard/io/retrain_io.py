"""The I/O half of ``fraudguard retrain``: the engine's transaction history and the stored labels.

One :func:`retrain_once` call reads ``<state_dir>/parquet/transactions`` (written by the
engine), the labels in PostgreSQL, runs the pure steps of :mod:`fraudguard.models.retrain`,
registers the challenger, stores its evaluation (what the promotion gate reads) and a
copy under ``<state_dir>/reports/``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds

from fraudguard.config import Settings
from fraudguard.errors import DataFormatError
from fraudguard.io.challenger_sinks import transactions_parquet_dir
from fraudguard.io.postgres import connect, db_errors
from fraudguard.models import lifecycle
from fraudguard.models.estimators import TrainConfig
from fraudguard.models.retrain import RetrainPlan, compare, split_history, train_challenger, with_labels
from fraudguard.models.scorer import Scorer
from fraudguard.records import arrays_to_frame, transaction_arrays

log = logging.getLogger(__name__)


def read_history(root: Path) -> pd.DataFrame:
    """Every transaction the engine wrote, once each (a replayed batch may have rewritten a row)."""
    if not root.is_dir() or not any(root.rglob("*.parquet")):
        raise DataFormatError(f"$: no transaction history in {root} (run the engine first: `fraudguard stream`)")
    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    frame = table.drop_columns([c for c in ("event_date",) if c in table.column_names]).to_pandas()
    frame = frame.drop_duplicates("transaction_id", keep="last")
    return arrays_to_frame(*transaction_arrays(frame.reset_index(drop=True)))


def read_labels(database_url: str, since: pd.Timestamp) -> pd.DataFrame:
    """Latest label per transaction scored since ``since`` (analyst / chargeback feedback)."""
    conn = connect(database_url, statement_timeout_ms=600_000)
    try:
        with db_errors(conn, "reading labels"):
            rows = conn.execute(
                "SELECT l.transaction_id, l.is_fraud FROM labels l "
                "JOIN fraud_predictions p USING (transaction_id) WHERE p.event_time >= %s",
                (since.to_pydatetime(),),
            ).fetchall()
    finally:
        conn.close()
    return pd.DataFrame(rows, columns=["transaction_id", "is_fraud"]).astype({"is_fraud": "float64"})


def retrain_once(
    settings: Settings,
    plan: RetrainPlan,
    *,
    database_url: str | None,
    cfg: TrainConfig | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Retrain, register a challenger, evaluate it against the champion; returns the report."""
    started = time.perf_counter()
    registry = settings.models_dir
    champion = Scorer.load(registry)
    config = champion.feature_config
    history = read_history(transactions_parquet_dir(settings.state_dir))
    say(f"{len(history):,} transactions in the engine's history")
    labels = pd.DataFrame(columns=["transaction_id", "is_fraud"])
    if database_url:
        labels = read_labels(database_url, history["event_time"].max() - plan.since)
    data, window, bounds = split_history(with_labels(history, labels), plan)
    sources = data["label_source"].value_counts().to_dict()
    say(f"{int((~window).sum()):,} for training, {int(window.sum()):,} in the evaluation window ({bounds['from']} ..)")
    version = train_challenger(data, window, registry, config, cfg)
    say(f"registered challenger {version}; evaluating against champion {champion.version}")
    report = compare(
        data, window, {champion.version: champion, version: Scorer.load(registry, version)}, champion.version, config
    )
    report.update(
        challenger=version,
        window=bounds,
        training_rows=int((~window).sum()),
        label_sources={str(k): int(v) for k, v in sources.items()},
        seconds=round(time.perf_counter() - started, 2),
    )
    lifecycle.write_evaluation(registry, version, report)
    lifecycle.add_challenger(registry, version, actor="retrain")
    out = settings.state_dir / "reports" / f"retrain-{version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["report_path"] = str(out)
    return report
