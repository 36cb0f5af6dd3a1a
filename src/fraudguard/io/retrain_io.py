"""The I/O half of ``fraudguard retrain``: the engine's transaction history and the stored labels.

One :func:`retrain_once` call reads ``<state_dir>/parquet/transactions`` (written by the
engine) twice, in event-time order a slice at a time (:class:`~fraudguard.io.history.History`):
a census of the labelled, matured rows, then the feature pass that holds a bounded sample
(:mod:`fraudguard.models.retrain_sample`). Labels come from PostgreSQL (held in memory: one
entry per labelled transaction). It registers the challenger, stores its evaluation (what
the promotion gate reads) and a copy under ``<state_dir>/reports/``.
"""

from __future__ import annotations

import json
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from fraudguard.config import Settings
from fraudguard.io.history import History
from fraudguard.io.postgres import connect, db_errors
from fraudguard.io.sinks.challenger import transactions_parquet_dir
from fraudguard.models import lifecycle
from fraudguard.models.estimators import TrainConfig
from fraudguard.models.retrain import Census, RetrainPlan, Scope, compare, latest_labels, with_labels
from fraudguard.models.retrain_sample import META_COLUMNS, HeldHistory, Sample, train_challenger
from fraudguard.models.scorer import Scorer
from fraudguard.records import TRANSACTION_COLUMNS, arrays_to_frame, transaction_arrays

log = logging.getLogger(__name__)


class PhaseClock:
    """Wall and CPU seconds of each phase, and the peak RSS so far at its end (the report's ``phases``)."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}
        self._t, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        self.phases[name] = {
            "seconds": round(now - self._t, 2),
            "cpu_s": round(cpu - self._cpu, 2),
            "peak_rss_mb": round(peak_mb, 1),
        }
        self._t, self._cpu = now, cpu


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
    slice_rows: int = 100_000,
) -> dict[str, Any]:
    """Retrain, register a challenger, evaluate it against the champion; returns the report.

    Memory: ``plan.max_rows`` held rows, about ``slice_rows`` history rows in flight, the
    feature state of the cards and merchants, and the labels; not the history's length.
    """
    started = time.perf_counter()
    clock = PhaseClock()
    registry = settings.models_dir
    champion = Scorer.load(registry)
    config = champion.feature_config
    history = History(transactions_parquet_dir(settings.state_dir), slice_rows=slice_rows)
    say(f"{history.rows:,} transactions in the engine's history ({len(history.files):,} files)")
    scope = Scope.of(history.newest, plan)
    labels = pd.Series(dtype="float64")
    if database_url:
        labels = latest_labels(read_labels(database_url, scope.since))
    census = Census()
    for part in history.slices(META_COLUMNS):
        labelled = with_labels(part, labels)
        census.add(labelled[scope.mask(labelled)])
    clock.lap("census")
    sample = Sample.plan(census, plan)
    say(
        f"{census.rows:,} labelled, matured transactions ({census.frauds:,} frauds); holding frauds at rate "
        f"{sample.fraud_rate:.4g} and legitimate ones at {sample.legit_rate:.4g}"
    )
    held = HeldHistory(sample, config, history.extras)
    normalise = set(TRANSACTION_COLUMNS) <= set(history.columns)
    for part in history.slices(history.columns):
        part = arrays_to_frame(*transaction_arrays(part.reset_index(drop=True))) if normalise else part
        labelled = with_labels(part, labels)
        held.add(labelled[scope.mask(labelled)])
    train, window, bounds = held.split()
    clock.lap("features")
    bounds.update(history_from=scope.since.isoformat(), label_delay_s=plan.label_delay.total_seconds())
    described = {**sample.describe(census), "rows_held": held.held, "history_peak_rows": history.peak_rows}
    say(f"{len(train.frame):,} held for training, {len(window.y):,} in the evaluation window ({bounds['from']} ..)")
    version = train_challenger(train, registry, described, cfg)
    clock.lap("training")
    say(f"registered challenger {version}; evaluating against champion {champion.version}")
    report = compare(window, {champion.version: champion, version: Scorer.load(registry, version)}, champion.version)
    clock.lap("evaluation")
    report.update(
        challenger=version,
        window=bounds,
        training_rows=len(train.frame),
        label_sources={str(k): int(v) for k, v in census.sources.items()},
        sample=described,
        phases=clock.phases,
        seconds=round(time.perf_counter() - started, 2),
    )
    lifecycle.write_evaluation(registry, version, report)
    lifecycle.add_challenger(registry, version, actor="retrain")
    out = settings.state_dir / "reports" / f"retrain-{version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["report_path"] = str(out)
    return report
