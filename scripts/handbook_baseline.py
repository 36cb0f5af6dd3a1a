#!/usr/bin/env python
"""The textbook baseline on a Handbook-format file (``handbook_exact.py``), on ``fraudguard train``'s split.

Why: issue 13 measured this baseline on the held-back set (0.760 PR-AUC, 0.78 recall at 1 %
FPR); the same recipe on ``handbook_exact.py``'s file says whether that file is like the
held-back one. The recipe is the Handbook's own feature engineering (section 3.4), in pandas:

* the amount, whether the transaction is at night (before 6:00) or on a weekend;
* per customer, over 1, 7 and 30 days up to and including the transaction: count and mean amount;
* per terminal, with labels known 7 days later: over the 1, 7 and 30 days that ended 7 days
  ago, the count of transactions and the share of frauds among them;

and a plain scikit-learn Random Forest (100 trees, library defaults otherwise), fitted on the
first 60 % of time (``--fit train``) or 80 % (``--fit train+validation``), scored on the last 20 %
with FraudGuard's metric functions.

Usage::

    python scripts/handbook_baseline.py --input /tmp/handbook.csv [--fit train+validation]

Nothing in FraudGuard reads this script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from fraudguard.models.metrics import recall_at_fpr

DELAY = 7


def customer_features(tx: pd.DataFrame) -> pd.DataFrame:
    g = tx.set_index("TX_DATETIME").groupby("CUSTOMER_ID", sort=False)["TX_AMOUNT"]
    out = {}
    for d in (1, 7, 30):
        roll = g.rolling(f"{d}D")
        out[f"customer_nb_tx_{d}d"] = roll.count().to_numpy()
        out[f"customer_avg_amount_{d}d"] = roll.mean().to_numpy()
    return pd.DataFrame(out)


def terminal_features(tx: pd.DataFrame) -> pd.DataFrame:
    g = tx.set_index("TX_DATETIME").groupby("TERMINAL_ID", sort=False)
    fraud_delay = g["TX_FRAUD"].rolling(f"{DELAY}D").sum().to_numpy()
    count_delay = g["TX_FRAUD"].rolling(f"{DELAY}D").count().to_numpy()
    out = {}
    for d in (1, 7, 30):
        fraud = g["TX_FRAUD"].rolling(f"{DELAY + d}D").sum().to_numpy() - fraud_delay
        count = g["TX_FRAUD"].rolling(f"{DELAY + d}D").count().to_numpy() - count_delay
        out[f"terminal_nb_tx_{d}d"] = count
        out[f"terminal_risk_{d}d"] = np.where(count > 0, fraud / np.maximum(count, 1), 0.0)
    return pd.DataFrame(out)


def features(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature frame and labels, rows in time order (stable)."""
    tx = raw.assign(TX_DATETIME=pd.to_datetime(raw["TX_DATETIME"])).sort_values("TX_DATETIME", kind="stable")
    tx = tx.reset_index(drop=True)
    by_c = tx.sort_values(["CUSTOMER_ID", "TX_DATETIME"], kind="stable")
    by_t = tx.sort_values(["TERMINAL_ID", "TX_DATETIME"], kind="stable")
    x = pd.DataFrame(
        {
            "amount": tx["TX_AMOUNT"].astype(float),
            "night": (tx["TX_DATETIME"].dt.hour < 6).astype(int),
            "weekend": (tx["TX_DATETIME"].dt.dayofweek >= 5).astype(int),
        }
    )
    c = customer_features(by_c)
    c.index = by_c.index
    t = terminal_features(by_t)
    t.index = by_t.index
    return pd.concat([x, c.sort_index(), t.sort_index()], axis=1), tx["TX_FRAUD"].to_numpy(dtype=int)


def main() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import average_precision_score

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--fit", choices=("train", "train+validation"), default="train")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    x, y = features(pd.read_csv(a.input))
    n = len(y)
    cut = round(n * (0.6 if a.fit == "train" else 0.8))
    test = np.arange(round(n * 0.8), n)
    model = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=a.seed)
    model.fit(x.iloc[:cut].to_numpy(np.float32), y[:cut])
    s = model.predict_proba(x.iloc[test].to_numpy(np.float32))[:, 1]
    out = {
        "input": str(a.input),
        "fit": a.fit,
        "test_rows": int(test.size),
        "test_frauds": int(y[test].sum()),
        "pr_auc": float(average_precision_score(y[test], s)),
        "recall_at_1pct_fpr": recall_at_fpr(y[test], s, 0.01),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
