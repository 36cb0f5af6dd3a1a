"""Throughput of the scoring core: features + three models + ensemble, per batch size.

Usage::

    .venv/bin/python benchmarks/bench_core.py [--registry DIR] [--train-rows 200000]

Without ``--registry`` a model is trained first on generated data (into a temporary
registry). Scoring data is a fresh generated stream (another seed, later start) fed
through one feature pipeline in arrival order, batch by batch, as an engine would.
The naive baseline computes features one row at a time, turns them into a dict, and calls
each model's ordinary single-row API (``DMatrix`` + ``predict``, ``predict_proba`` with
the training ``n_jobs``, ``score_samples``): the per-row code the vectorised core replaces.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from fraudguard.features import FeaturePipeline
from fraudguard.generator import generate_frame
from fraudguard.models.registry import current_version
from fraudguard.models.scorer import Scorer
from fraudguard.models.trainer import train_and_register


def _pipeline(scorer: Scorer) -> FeaturePipeline:
    return scorer.make_pipeline()


def bench_batches(scorer: Scorer, stream: pd.DataFrame, batch: int, rows: int) -> dict[str, float]:
    """rows/s of features, models+ensemble (score_frame) and both, at one batch size."""
    pipe = _pipeline(scorer)
    warm = stream.iloc[: min(20_000, len(stream) // 4)]
    for i in range(0, len(warm), 10_000):  # give cards some history, as in a running stream
        part = warm.iloc[i : i + 10_000]
        scorer.score_frame(part, pipe.transform(part))
    rest = stream.iloc[len(warm) : len(warm) + rows]
    t_feat = t_score = c_feat = c_score = 0.0
    for i in range(0, len(rest), batch):
        part = rest.iloc[i : i + batch]
        t0, c0 = time.perf_counter(), time.process_time()
        feats = pipe.transform(part)
        t1, c1 = time.perf_counter(), time.process_time()
        scorer.score_frame(part, feats)
        t2, c2 = time.perf_counter(), time.process_time()
        t_feat += t1 - t0
        t_score += t2 - t1
        c_feat += c1 - c0
        c_score += c2 - c1
    n = len(rest)
    return {
        "batch": batch,
        "rows": n,
        "features_rows_s": n / t_feat,
        "models_rows_s": n / t_score,
        "total_rows_s": n / (t_feat + t_score),
        # CPU time of the process (all threads): comparable across runs on a loaded machine
        "features_cpu_rows_s": n / max(c_feat, 1e-9),
        "models_cpu_rows_s": n / max(c_score, 1e-9),
        "total_cpu_rows_s": n / max(c_feat + c_score, 1e-9),
    }


def bench_naive(scorer: Scorer, stream: pd.DataFrame, rows: int) -> dict[str, float]:
    """Per-row features as a dict and one ordinary predict call per model per row."""
    pipe = _pipeline(scorer)
    names = list(scorer.feature_names)
    m = scorer.models
    rf, iforest = m.random_forest, m.isolation_forest
    rf.n_jobs = iforest.n_jobs = 1  # a thread pool per row would make the baseline a straw man
    part = stream.iloc[:rows]
    t0 = time.perf_counter()
    for i in range(len(part)):
        row_frame = part.iloc[i : i + 1]
        feats: dict[str, float] = pipe.transform(row_frame).iloc[0].to_dict()
        x = np.array([[feats[n] for n in names]], dtype=np.float32)
        s_x = float(m.xgboost.predict(xgb.DMatrix(x))[0])
        s_rf = float(rf.predict_proba(x)[0, 1])
        s_if = float(m.calibration(-iforest.score_samples(x))[0])
        scorer.stacker(np.array([[s_x, s_rf, s_if]]))
    dt = time.perf_counter() - t0
    return {"batch": 1, "rows": rows, "total_rows_s": rows / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", type=Path, help="existing registry (default: train a fresh one)")
    ap.add_argument("--train-rows", type=int, default=200_000)
    ap.add_argument("--stream-rows", type=int, default=140_000)
    ap.add_argument("--naive-rows", type=int, default=300)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    registry = args.registry
    if registry is None:
        registry = Path(tempfile.mkdtemp(prefix="fraudguard-bench-"))
        frame = generate_frame(args.train_rows, fraud_rate=0.01, seed=1)
        t = time.perf_counter()
        train_and_register(frame, registry, source={"path": "generated", "format": "frame", "sha256": None})
        print(f"trained on {len(frame):,} rows in {time.perf_counter() - t:.1f}s -> {registry}")
    scorer = Scorer.load(registry, current_version(registry))
    stream = generate_frame(args.stream_rows, fraud_rate=0.01, seed=99, start=datetime(2026, 6, 1, tzinfo=UTC))

    results = [
        bench_batches(scorer, stream, 1, 500),
        bench_batches(scorer, stream, 100, 20_000),
        bench_batches(scorer, stream, 10_000, 100_000),
    ]
    naive = bench_naive(scorer, stream, args.naive_rows)
    print(f"{'':>16} {'wall clock rows/s':^38} {'CPU time rows/s':^38}")
    print(f"{'batch':>7} {'rows':>8} " + f"{'features':>12} {'models+ens':>13} {'total':>11} " * 2)
    for r in results:
        print(
            f"{r['batch']:>7} {r['rows']:>8} {r['features_rows_s']:>12,.0f} {r['models_rows_s']:>13,.0f} "
            f"{r['total_rows_s']:>11,.0f} {r['features_cpu_rows_s']:>12,.0f} {r['models_cpu_rows_s']:>13,.0f} "
            f"{r['total_cpu_rows_s']:>11,.0f}"
        )
    print(f"{'naive':>7} {naive['rows']:>8} {'':>12} {'':>13} {naive['total_rows_s']:>10,.0f}")
    best = results[-1]["total_rows_s"]
    print(f"batch 10,000 vs naive per-row: {best / naive['total_rows_s']:,.0f}x")
    if args.json:
        args.json.write_text(
            json.dumps({"batches": results, "naive": naive, "model_version": scorer.version}, indent=2)
        )


if __name__ == "__main__":
    main()
