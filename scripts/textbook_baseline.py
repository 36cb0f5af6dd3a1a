#!/usr/bin/env python
"""A textbook baseline on a ULB- or Sparkov-format CSV, on the split ``fraudguard train`` uses.

Why: "FraudGuard is good" only means something next to what a data scientist gets in ten
lines. This script is that: it reads the CSV with pandas (not FraudGuard's readers), sorts it
by time (stable, so ties keep file order, as FraudGuard does), cuts the same 60 / 20 / 20
train / validation / test split by time, and fits a plain XGBoost with the library's default
hyper-parameters (100 rounds of depth 6 at eta 0.3, no class weights; ``base_score`` 0.5, the
default before XGBoost 2.0: with the fitted intercept of 2.x, ``base_score`` = fraud rate, the
first trees' fraud leaves overshoot and the default fit diverged on the synthetic ULB file,
test PR-AUC 0.31 instead of 0.77) on

* ULB: the raw numeric columns (``Time, V1..V28, Amount``);
* Sparkov: the usual simple features: ``amt``, its log, category one-hot, hour, day of week,
  age at the transaction, gender, ``city_pop``, and the customer-merchant distance.

It is fitted twice: on the train split only (the rows FraudGuard fits its base models on) and
on train + validation (a textbook 80 / 20 split). Both are scored on the test split with
FraudGuard's own metric functions, so PR-AUC and recall at 1 % FPR mean the same thing.

Usage::

    python scripts/textbook_baseline.py --format ulb --input /tmp/ulb_synth.csv [--json OUT]
    python scripts/textbook_baseline.py --format sparkov --input /tmp/sparkov_synth.csv

Nothing in FraudGuard reads this script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from fraudguard.models.metrics import recall_at_fpr

SPLIT = (0.6, 0.2, 0.2)


def ulb_features(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(X, y, time)`` of a ULB file: every raw numeric column."""
    cols = ["Time", *[f"V{i}" for i in range(1, 29)], "Amount"]
    y = pd.to_numeric(raw["Class"].astype(str).str.strip('"')).to_numpy(dtype=int)
    return raw[cols].astype(float), y, raw["Time"].to_numpy(dtype=float)


def sparkov_features(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(X, y, time)`` of a Sparkov file: amount, category, hour, age, gender, city size, distance."""
    t = pd.to_datetime(raw["trans_date_trans_time"])
    dob = pd.to_datetime(raw["dob"])
    x = pd.DataFrame(
        {
            "amt": raw["amt"].astype(float),
            "log_amt": np.log1p(raw["amt"].astype(float)),
            "hour": t.dt.hour,
            "day_of_week": t.dt.dayofweek,
            "age": (t - dob).dt.days / 365.25,
            "gender_m": (raw["gender"] == "M").astype(int),
            "city_pop": raw["city_pop"].astype(float),
            "distance": np.hypot(raw["lat"] - raw["merch_lat"], raw["long"] - raw["merch_long"]),
        }
    )
    x = pd.concat([x, pd.get_dummies(raw["category"], prefix="cat", dtype=int)], axis=1)
    return x, raw["is_fraud"].to_numpy(dtype=int), t.astype("int64").to_numpy() / 1e9


def split(time: np.ndarray) -> dict[str, np.ndarray]:
    """Positions of train / validation / test in time order, cut like ``fraudguard train``."""
    order = np.argsort(time, kind="stable")
    a = round(order.size * SPLIT[0])
    b = round(order.size * (SPLIT[0] + SPLIT[1]))
    return {"train": order[:a], "validation": order[a:b], "test": order[b:]}


def scores(x: pd.DataFrame, y: np.ndarray, fit_rows: np.ndarray, test: np.ndarray, seed: int) -> dict[str, float]:
    """Test PR-AUC and recall at 1 % / 0.1 % FPR of a default XGBoost fitted on ``fit_rows``."""
    from sklearn.metrics import average_precision_score

    model = xgb.XGBClassifier(tree_method="hist", base_score=0.5, n_jobs=2, random_state=seed)
    model.fit(x.iloc[fit_rows], y[fit_rows])
    s = model.predict_proba(x.iloc[test])[:, 1]
    return {
        "pr_auc": float(average_precision_score(y[test], s)),
        "recall_at_1pct_fpr": recall_at_fpr(y[test], s, 0.01),
        "recall_at_0_1pct_fpr": recall_at_fpr(y[test], s, 0.001),
    }


def main() -> None:
    """Command line: print (and optionally write) the baseline's test metrics."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--format", choices=("ulb", "sparkov"), required=True)
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    raw = pd.read_csv(a.input)
    x, y, time = (ulb_features if a.format == "ulb" else sparkov_features)(raw)
    parts = split(time)
    out: dict[str, object] = {
        "input": str(a.input),
        "rows": {k: int(v.size) for k, v in parts.items()},
        "frauds": {k: int(y[v].sum()) for k, v in parts.items()},
        "features": list(x.columns),
        "fit_on_train": scores(x, y, parts["train"], parts["test"], a.seed),
        "fit_on_train_validation": scores(
            x, y, np.concatenate([parts["train"], parts["validation"]]), parts["test"], a.seed
        ),
    }
    print(json.dumps(out, indent=1))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
