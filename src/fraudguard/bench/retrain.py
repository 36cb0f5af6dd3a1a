"""Retraining at scale: time and peak memory of ``retrain`` on a generated multi-file history.

:func:`write_history` writes transactions the way the engine does: one Parquet file per
batch and event date through :class:`~fraudguard.io.parquet_sink.ParquetSink`, batches cut
in *arrival* order (a share of rows arrives late, so files overlap in event time), and
optionally every n-th batch replayed under another batch id (the same rows in two files).
It streams from the generator, so a history of any length is written in bounded memory.

:func:`measure` runs :func:`~fraudguard.io.retrain_io.retrain_once` (no PostgreSQL: ground
truth only) in a fresh child process and reports its wall time and peak RSS, so two history
lengths with the same ``max_rows`` separate the per-row cost of the two passes from the
fixed cost of training on the held sample::

    python -m fraudguard.bench.retrain --rows 3000000 --state /tmp/retrain-3m --max-rows 500000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fraudguard.io.parquet_sink import ParquetSink, batch_file_stem


def write_history(
    root: Path,
    rows: int,
    *,
    seed: int = 1,
    customers: int = 20_000,
    merchants: int = 2_000,
    fraud_rate: float = 0.01,
    batch_rows: int = 2_000,
    late_share: float = 0.02,
    late_max_s: float = 600.0,
    replay_every: int = 0,
) -> dict[str, int]:
    """Write ``rows`` generated transactions under ``root`` as the engine would; returns counts."""
    from fraudguard.generator.generation import GeneratorConfig, TransactionGenerator

    rng = np.random.default_rng(seed)
    gen = TransactionGenerator(
        GeneratorConfig(fraud_rate=fraud_rate, seed=seed, customers=customers, merchants=merchants)
    )
    sink = ParquetSink(root)
    sink.setup()
    batches = replayed = 0
    for cols in gen.chunks(rows):
        n = len(cols)
        t = cols.data["event_time"]
        late = rng.random(n) < late_share
        arrival = t + np.where(late, rng.integers(1, int(late_max_s * 1e6), n), 0)
        order = np.argsort(arrival, kind="stable")
        for start in range(0, n, batch_rows):
            part = cols.take(order[start : start + batch_rows])
            sink.write_by_event_date(part.to_arrow(), batch_file_stem(f"bench-{seed}-{batches}"))
            batches += 1
            if replay_every and batches % replay_every == 0:
                half = part.take(np.arange(len(part) // 2))
                sink.write_by_event_date(half.to_arrow(), batch_file_stem(f"bench-{seed}-{batches}-replay"))
                replayed += len(half)
    return {"rows": rows, "batches": batches, "files": sink.files_written, "replayed_rows": replayed}


_CHILD = """
import json, resource, sys, time
from datetime import timedelta
from pathlib import Path
from fraudguard.config import Settings
from fraudguard.io.retrain_io import retrain_once
from fraudguard.models.retrain import RetrainPlan
args = json.loads(sys.argv[1])
settings = Settings(state_dir=Path(args["state"]))
t0 = time.perf_counter()
plan = RetrainPlan(since=timedelta(days=args["since_days"]), max_rows=args["max_rows"])
report = retrain_once(settings, plan, database_url=None, say=lambda m: print(m, file=sys.stderr))
out = {"seconds": time.perf_counter() - t0, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "sample": report["sample"], "training_rows": report["training_rows"], "labelled": report["labelled"],
       "pr_auc": report["pr_auc"], "phases": report["phases"]}
print(json.dumps(out))
"""


def measure(state_dir: Path, *, max_rows: int, since_days: int = 30) -> dict[str, Any]:
    """``retrain_once`` over ``<state_dir>/parquet/transactions`` in a child process: seconds, peak RSS."""
    arg = json.dumps({"state": str(state_dir), "max_rows": max_rows, "since_days": since_days})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, arg], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--state", type=Path, required=True, help="state dir (history written, champion trained here)")
    p.add_argument("--max-rows", type=int, default=500_000)
    p.add_argument("--champion-rows", type=int, default=100_000)
    p.add_argument("--customers", type=int, default=None, help="default: rows / 75 (about 25 days of history)")
    p.add_argument("--since-days", type=int, default=30)
    a = p.parse_args(argv)
    history = a.state / "parquet" / "transactions"
    if not history.is_dir():
        t0 = time.perf_counter()
        # ~3 purchases per customer a day: about 25 days of history, inside retrain's default 30
        info = write_history(history, a.rows, customers=a.customers or max(1_000, a.rows // 75), replay_every=200)
        print(json.dumps({"written": info, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    if not (a.state / "models").is_dir():
        from fraudguard.generator import generate_frame
        from fraudguard.models.trainer import train_and_register

        frame = generate_frame(a.champion_rows, seed=99, customers=20_000, merchants=2_000)
        train_and_register(frame, a.state / "models", source={"path": "bench", "format": "frame", "sha256": None})
    print(json.dumps(measure(a.state, max_rows=a.max_rows, since_days=a.since_days)), flush=True)


if __name__ == "__main__":
    main()
