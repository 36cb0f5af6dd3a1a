"""Benchmark 1: the scoring core (features + three models + ensemble) per batch size, vs per-row.

Scoring data is a fresh generated stream (another seed, a later start than training) fed
through one feature pipeline in arrival order, batch by batch, as an engine would; a
warm-up gives cards some history first. Features and models are timed separately. The
naive baseline is :class:`fraudguard.bench.naive.RowScorer` on the same stream.

Batch 1 is the authorisation path: one decoded transaction record in, its prediction
record out, through ``features/single.py`` and ``models/single.py`` (what the API does for
a lone request). The same rows as one-row frames (``transform`` + ``score_frame``, what an
engine does with a batch of one) are reported beside it. Thread CPU per transaction is
reported too: on a shared machine it moves far less than wall-clock rates.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from fraudguard import records
from fraudguard.bench.naive import RowScorer
from fraudguard.features import FeaturePipeline
from fraudguard.features.single import commit_one, compute_one, extras_of, names_of, row_of_transaction
from fraudguard.models.scorer import Scorer
from fraudguard.models.single import single_scorer


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


def time_single(scorer: Scorer, warm: pd.DataFrame, rows: pd.DataFrame) -> dict[str, Any]:
    """Rows/s and thread-CPU µs per row of one transaction at a time: record in, prediction out."""
    pipe = warm_pipeline(scorer, warm)
    txs = records.from_frame(rows)  # decoded records, as the API and a consumer hold them (not timed)
    one = single_scorer(scorer)
    wall_f = wall_m = cpu_f = cpu_m = 0.0
    for tx in txs:
        t0, c0 = time.perf_counter(), time.thread_time()
        names, extras = extras_of(tx)
        row = compute_one(pipe, row_of_transaction(tx), extras)
        commit_one(pipe, row)
        t1, c1 = time.perf_counter(), time.thread_time()
        one.prediction(tx, row.values, names_of(pipe.config, tuple(names)))
        wall_f, cpu_f = wall_f + t1 - t0, cpu_f + c1 - c0
        wall_m, cpu_m = wall_m + time.perf_counter() - t1, cpu_m + time.thread_time() - c1
    n = len(txs)
    return {
        "batch": 1,
        "path": "single transaction: record in, prediction out (features/single.py, models/single.py)",
        "rows": n,
        "features_rows_s": n / wall_f,
        "models_rows_s": n / wall_m,
        "rows_s": n / (wall_f + wall_m),
        "features_cpu_us": 1e6 * cpu_f / n,
        "models_cpu_us": 1e6 * cpu_m / n,
        "cpu_us": 1e6 * (cpu_f + cpu_m) / n,
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
    batches = [
        time_single(scorer, warm, rest.iloc[:rows])
        if batch == 1
        else time_batches(scorer, warm, rest.iloc[:rows], batch)
        for batch, rows in sorted(sizes.items())
    ]
    frames_1 = time_batches(scorer, warm, rest.iloc[: sizes.get(1, 0)], 1) if 1 in sizes else None
    naive = time_naive(scorer, warm, rest.iloc[:naive_rows])
    best = batches[-1]
    return {
        "model_version": scorer.version,
        "batches": batches,
        "frames_batch1": frames_1,
        "naive": naive,
        "rows_s": best["rows_s"],
        "ratio_vs_naive": best["rows_s"] / naive["rows_s"],
        "note": (
            f"ratio = batch {best['batch']:,} vs naive per-row; naive: features per row as a dict, "
            "one predict call per model per row (sklearn n_jobs=1)"
        ),
    }
