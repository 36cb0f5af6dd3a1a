"""Throughput of FeaturePipeline.transform at batch 1, 100 and 10,000 with ~10k active cards.

Usage: ``python benchmarks/bench_features.py [WARM_ROWS]``. State is first warmed with
WARM_ROWS rows of history (5 transactions per card per day, so 300,000 rows = 6 days and
~30 stored events per card). Prints wall-clock and per-CPU-second rates: the machine is
shared, and CPU time is the fairer number when others are busy.
"""

import copy
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import pandas as pd

from fraudguard.features import FeatureConfig, FeaturePipeline


def make(n, cards=10_000, merchants=2_000, seed=0, start="2026-01-01"):
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    secs = np.sort(rng.uniform(0, n / (cards * 5 / 86400), n))  # 5 tx per card per day
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "card_id": [f"card{i:06d}" for i in rng.integers(0, cards, n)],
            "customer_id": None,
            "event_time": t0 + pd.to_timedelta(secs, unit="s"),
            "amount": rng.gamma(2, 30, n),
            "currency": "USD",
            "merchant_id": [f"m{i}" for i in rng.integers(0, merchants, n)],
            "merchant_category": rng.choice(["grocery", "fuel", "retail", "travel"], n),
            "channel": rng.choice(["pos", "online"], n),
            "card_present": rng.random(n) < 0.5,
            "customer_lat": rng.uniform(40, 41, n),
            "customer_lon": rng.uniform(-74, -73, n),
            "merchant_lat": rng.uniform(40, 41, n),
            "merchant_lon": rng.uniform(-74, -73, n),
            "device_id": rng.choice(["d1", "d2", None], n),
            "is_fraud": (rng.random(n) < 0.01).astype(float),
            "fraud_scenario": None,
        }
    )


warm_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
frame = make(warm_rows + 200_000)
warm, rest = frame.iloc[:warm_rows], frame.iloc[warm_rows:]
t, c = time.perf_counter(), time.process_time()
base = FeaturePipeline(FeatureConfig())
base.fit_transform_history(warm)
print(
    f"history {warm_rows} rows: {time.perf_counter() - t:.2f}s wall, {time.process_time() - c:.2f}s CPU  stats={base.stats()}"
)
for bs, rows in ((1, 2000), (100, 20_000), (10_000, 200_000)):
    pipe = copy.deepcopy(base)
    part = rest.iloc[:rows]
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, rows, bs):
        pipe.transform(part.iloc[i : i + bs])
    dt, dc = time.perf_counter() - t, time.process_time() - c
    print(f"batch {bs:>6}: {rows / dt:,.0f} rows/s wall, {rows / dc:,.0f} rows/s per CPU-second")
