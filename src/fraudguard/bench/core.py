"""Benchmark 1: the scoring core (features + three models + ensemble) per batch size, vs per-row.

Scoring data is a fresh generated stream (another seed, a later start than training) fed
through one feature pipeline in arrival order, batch by batch, as an engine would; a
warm-up gives cards some history first. Features and models are timed separately. The
naive baseline is :class:`fraudguard.bench.naive.RowScorer` on the same stream.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from fraudguard.bench.naive import RowScorer
from fraudguard.features import FeaturePipeline
from fraudguard.models.scorer import Scorer


def scoring_stream(rows: int, seed: int = 99) -> pd.DataFrame:
    """Transactions the models have not seen (later start, other seed)."""
    from fraudguard.generator import generate_frame

    return generate_frame(rows, fraud_rate=0.01, seed=seed, start=datetime(2026, 6, 1, tzinfo=UTC))


def warm_pipeline(scorer: Scorer, warm: pd.DataFrame) -> FeaturePipeline:
    pipe = scorer.make_pipeline()
    for start in range(0, len(warm), 10_000):
        pipe.transform(warm.iloc[start : start + 10_000])
    return pipe


def time_batches(scorer: Scorer, warm: pd.DataFrame, rows: pd.DataFrame, batch: int) -> dict[str, Any]:
    """Rows/s of features, of models + ensemble (``score_frame``) and of both, at one batch size."""
    pipe = warm_pipeline(scorer, warm)
    t_features = t_models = 0.0
    for start in range(0, len(rows), batch):
        part = rows.iloc[start : start + batch]
        t0 = time.perf_counter()
        feats = pipe.transform(part)
        t1 = time.perf_counter()
        scorer.score_frame(part, feats)
        t_features += t1 - t0
        t_models += time.perf_counter() - t1
    n = len(rows)
    return {
        "batch": batch,
        "rows": n,
        "features_rows_s": n / t_features,
        "models_rows_s": n / t_models,
        "rows_s": n / (t_features + t_models),
    }


def time_naive(scorer: Scorer, warm: pd.DataFrame, rows: pd.DataFrame) -> dict[str, Any]:
    """Rows/s of the per-row baseline (dict features, one predict per model per row)."""
    naive = RowScorer(scorer)
    for start in range(0, len(warm), 10_000):
        naive.pipeline.transform(warm.iloc[start : start + 10_000])
    t0 = time.perf_counter()
    for i in range(len(rows)):
        naive.score_row(rows.iloc[i : i + 1])
    seconds = time.perf_counter() - t0
    return {"batch": 1, "rows": len(rows), "rows_s": len(rows) / seconds}


def run_core(scorer: Scorer, sizes: dict[int, int], naive_rows: int, warm_rows: int) -> dict[str, Any]:
    """Every batch size in ``sizes`` (batch -> rows timed) and the naive baseline.

    The ratio compares the largest batch with the naive per-row path on the same rows.
    """
    total = warm_rows + max(max(sizes.values()), naive_rows)
    stream = scoring_stream(total)
    warm, rest = stream.iloc[:warm_rows], stream.iloc[warm_rows:]
    batches = [time_batches(scorer, warm, rest.iloc[:rows], batch) for batch, rows in sorted(sizes.items())]
    naive = time_naive(scorer, warm, rest.iloc[:naive_rows])
    best = batches[-1]
    return {
        "model_version": scorer.version,
        "batches": batches,
        "naive": naive,
        "rows_s": best["rows_s"],
        "ratio_vs_naive": best["rows_s"] / naive["rows_s"],
        "note": (
            f"ratio = batch {best['batch']:,} vs naive per-row; naive: features per row as a dict, "
            "one predict call per model per row (sklearn n_jobs=1)"
        ),
    }
