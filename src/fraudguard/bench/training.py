"""Benchmark 6: training time and test PR-AUC on a generated set, next to naive scores.

``train_and_register`` runs as ``fraudguard train`` does (features in event-time order,
three models, stacker, thresholds, model card) into the run's registry, which the other
benchmarks then score with. Test PR-AUC comes from the model card (the last 20% in event
time). Two baselines on the same test rows put it in context: the fraud rate (PR-AUC of
a random score) and the amount alone as a score (a naive "big purchases are suspicious"
rule); the card's ablation adds XGBoost without the per-card / per-merchant features.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.models.estimators import TrainConfig


def naive_baselines(frame: pd.DataFrame) -> dict[str, float]:
    """PR-AUC of a random score and of ``amount`` on the time-ordered test split."""
    from sklearn.metrics import average_precision_score

    from fraudguard.models.training import time_split

    test = time_split(frame["event_time"])["test"]
    y = frame["is_fraud"].to_numpy(dtype=np.float64)[test] >= 0.5
    amount = frame["amount"].to_numpy(dtype=np.float64)[test]
    return {"random_pr_auc": float(y.mean()), "amount_only_pr_auc": float(average_precision_score(y, amount))}


def run_training(registry: Path, rows: int, *, seed: int = 1, cfg: TrainConfig | None = None) -> dict[str, Any]:
    """Generate ``rows`` transactions, train and register a version; seconds and test metrics."""
    from fraudguard.generator import generate_frame
    from fraudguard.models.trainer import train_and_register

    t0 = time.perf_counter()
    frame = generate_frame(rows, fraud_rate=0.01, seed=seed)
    generated = time.perf_counter() - t0
    t1 = time.perf_counter()
    version, card = train_and_register(
        frame, registry, source={"path": "generated", "format": "frame", "sha256": None}, cfg=cfg
    )
    seconds = time.perf_counter() - t1
    test = card.metrics["test"]
    ablation = card.metrics.get("stateful_ablation", {})
    return {
        "rows": rows,
        "frauds": int(card.data["frauds"]),
        "version": version,
        "generate_s": round(generated, 2),
        "train_s": round(seconds, 2),
        "test_pr_auc": {name: round(float(m["pr_auc"]), 4) for name, m in test.items()},
        "pr_auc": float(test["ensemble"]["pr_auc"]),
        "xgboost_without_stateful_pr_auc": ablation.get("pr_auc_without_stateful"),
        **{k: round(v, 4) for k, v in naive_baselines(frame).items()},
    }
