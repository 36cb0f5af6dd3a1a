#!/usr/bin/env python
"""Write the Fraud Detection Handbook's simulated set as its published simulator does, seeds included.

Why: ``synth_handbook.py`` follows the Handbook's simulator in spirit (vectorised, its own
random streams), so its files are like the Handbook's, not the same. This is a line-by-line
port of the simulator published with the Handbook (Le Borgne et al., "Reproducible Machine
Learning for Credit Card Fraud Detection - Practical Handbook", section 3.2) with its own
random calls and seeds: NumPy's legacy ``np.random.seed`` per customer and Python's
``random`` for terminal choice, ``DataFrame.sample(random_state=day)`` for the compromised
terminals and customers. The Handbook's set is 5,000 customers, 10,000 terminals, 183 days
from 2018-04-01 (its published copy: 1,754,155 transactions, 14,681 frauds); the defaults
write that. It cannot be downloaded here, so this is how FraudGuard is measured on it.

Usage (then ``fraudguard train --format table --input FILE --map`` with the printed map)::

    python scripts/handbook_exact.py --out /tmp/handbook.csv

Nothing in FraudGuard reads this script or knows about this set.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import pandas as pd

MAP = (
    "transaction_id=TRANSACTION_ID,card_id=CUSTOMER_ID,merchant_id=TERMINAL_ID,time=TX_DATETIME,"
    "amount=TX_AMOUNT,label=TX_FRAUD,fraud_scenario=TX_FRAUD_SCENARIO"
)


def customer_profiles(n: int, random_state: int = 0) -> pd.DataFrame:
    np.random.seed(random_state)
    rows = []
    for cid in range(n):
        x, y = np.random.uniform(0, 100), np.random.uniform(0, 100)
        mean = np.random.uniform(5, 100)
        rows.append([cid, x, y, mean, mean / 2, np.random.uniform(0, 4)])
    return pd.DataFrame(rows, columns=["CUSTOMER_ID", "x", "y", "mean_amount", "std_amount", "mean_nb_tx_per_day"])


def terminal_profiles(n: int, random_state: int = 0) -> pd.DataFrame:
    np.random.seed(random_state)
    rows = [[tid, np.random.uniform(0, 100), np.random.uniform(0, 100)] for tid in range(n)]
    return pd.DataFrame(rows, columns=["TERMINAL_ID", "x", "y"])


def customer_transactions(c: pd.Series, terminals: list[int], days: int) -> list[list[float]]:
    out: list[list[float]] = []
    random.seed(int(c.CUSTOMER_ID))
    np.random.seed(int(c.CUSTOMER_ID))
    for day in range(days):
        nb_tx = np.random.poisson(c.mean_nb_tx_per_day)
        for _ in range(nb_tx):
            time_tx = int(np.random.normal(86400 / 2, 20000))
            if 0 < time_tx < 86400:
                amount = np.random.normal(c.mean_amount, c.std_amount)
                if amount < 0:
                    amount = np.random.uniform(0, c.mean_amount * 2)
                amount = np.round(amount, decimals=2)
                if len(terminals) > 0:
                    out.append([time_tx + day * 86400, day, int(c.CUSTOMER_ID), random.choice(terminals), amount])
    return out


def add_frauds(customers: pd.DataFrame, terminals: pd.DataFrame, tx: pd.DataFrame) -> pd.DataFrame:
    tx["TX_FRAUD"] = 0
    tx["TX_FRAUD_SCENARIO"] = 0
    tx.loc[tx.TX_AMOUNT > 220, ["TX_FRAUD", "TX_FRAUD_SCENARIO"]] = 1
    for day in range(tx.TX_TIME_DAYS.max()):
        hit = terminals.TERMINAL_ID.sample(n=2, random_state=day)
        idx = tx[(day <= tx.TX_TIME_DAYS) & (day + 28 > tx.TX_TIME_DAYS) & tx.TERMINAL_ID.isin(hit)].index
        tx.loc[idx, "TX_FRAUD"] = 1
        tx.loc[idx, "TX_FRAUD_SCENARIO"] = 2
    for day in range(tx.TX_TIME_DAYS.max()):
        hit = customers.CUSTOMER_ID.sample(n=3, random_state=day).values
        rows = tx[(day <= tx.TX_TIME_DAYS) & (day + 14 > tx.TX_TIME_DAYS) & tx.CUSTOMER_ID.isin(hit)]
        random.seed(day)
        idx = random.sample(list(rows.index.values), k=int(len(rows) / 3))
        tx.loc[idx, "TX_AMOUNT"] = tx.loc[idx, "TX_AMOUNT"] * 5
        tx.loc[idx, "TX_FRAUD"] = 1
        tx.loc[idx, "TX_FRAUD_SCENARIO"] = 3
    return tx


def make(customers: int = 5000, terminals: int = 10000, days: int = 183, radius: float = 5.0) -> pd.DataFrame:
    cust = customer_profiles(customers, random_state=0)
    term = terminal_profiles(terminals, random_state=1)
    xy = term[["x", "y"]].to_numpy(dtype=float)
    rows: list[list[float]] = []
    for c in cust.itertuples(index=False):
        near = list(np.where(np.sqrt(np.sum(np.square(np.array([c.x, c.y]) - xy), axis=1)) < radius)[0])
        rows += customer_transactions(c, near, days)  # type: ignore[arg-type]
    tx = pd.DataFrame(rows, columns=["TX_TIME_SECONDS", "TX_TIME_DAYS", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT"])
    tx["TX_DATETIME"] = pd.to_datetime(tx["TX_TIME_SECONDS"], unit="s", origin="2018-04-01")
    tx = tx.sort_values("TX_DATETIME").reset_index(drop=True)
    tx.insert(0, "TRANSACTION_ID", np.arange(len(tx)))
    return add_frauds(cust, term, tx)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int, default=5000)
    p.add_argument("--terminals", type=int, default=10000)
    p.add_argument("--days", type=int, default=183)
    a = p.parse_args()
    tx = make(a.customers, a.terminals, a.days)
    cols = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD", "TX_FRAUD_SCENARIO"]
    tx[cols].to_csv(a.out, index=False)
    print(f"wrote {a.out}: {len(tx):,} rows, {int(tx.TX_FRAUD.sum()):,} frauds; --map {MAP}")


if __name__ == "__main__":
    main()
