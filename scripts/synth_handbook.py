#!/usr/bin/env python
"""Write a transaction file built like the simulated set of the public Fraud Detection Handbook.

Why: issue 13's detection targets were set on such a set (customers, terminals, three fraud
scenarios), and the README's handbook-like rows need a way to be rebuilt. This follows the
Handbook's published simulator (Le Borgne et al., "Reproducible Machine Learning for Credit
Card Fraud Detection", chapter 3), written from scratch:

* customers at uniform positions in a 100 x 100 square, each with a mean amount U(5, 100)
  (standard deviation half of it) and U(0, 4) transactions a day; terminals at uniform
  positions; a customer uses the terminals within distance 5 of home;
* each day a Poisson number of transactions per customer, at a time of day drawn around
  noon (normal, sd 20,000 s), amounts normal (negative draws redrawn uniform);
* fraud: (1) every amount over 220; (2) each day two terminals are compromised for 28 days
  and all their transactions are fraud; (3) each day three customers are compromised for 14
  days and a third of their transactions have the amount multiplied by 5 and are fraud. The
  two and three are per 10,000 terminals and 5,000 customers (the Handbook's population), drawn
  Poisson for a smaller one, so the fraud rate stays near the Handbook's 0.85 %.

Usage (then ``fraudguard train --format table --input FILE --map`` with the printed map)::

    python scripts/synth_handbook.py --out /tmp/handbook.csv [--customers 2000] [--terminals 4000] [--days 120]

Same seed, same bytes. Nothing in FraudGuard reads this script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2018-04-01", tz="UTC")
MAP = "transaction_id=TRANSACTION_ID,card_id=CUSTOMER_ID,merchant_id=TERMINAL_ID,time=TX_DATETIME,amount=TX_AMOUNT,label=TX_FRAUD,fraud_scenario=TX_FRAUD_SCENARIO"


def _transactions(rng: np.random.Generator, customers: int, terminals: int, days: int) -> pd.DataFrame:
    cx, cy = rng.uniform(0, 100, customers), rng.uniform(0, 100, customers)
    mean = rng.uniform(5, 100, customers)
    rate = rng.uniform(0, 4, customers)
    tx, ty = rng.uniform(0, 100, terminals), rng.uniform(0, 100, terminals)
    near = [np.flatnonzero(np.hypot(tx - cx[c], ty - cy[c]) < 5) for c in range(customers)]
    counts = rng.poisson(np.tile(rate, days))  # day-major: day d, customer c at d * customers + c
    slot = np.repeat(np.arange(counts.size), counts)
    cust, day = slot % customers, slot // customers
    secs = np.round(rng.normal(43_200, 20_000, slot.size))
    ok = (secs > 0) & (secs < 86_400) & np.array([near[c].size > 0 for c in range(customers)])[cust]
    cust, day, secs = cust[ok], day[ok], secs[ok]
    amount = rng.normal(mean[cust], mean[cust] / 2)
    neg = amount < 0
    amount[neg] = rng.uniform(0, 2 * mean[cust[neg]])
    term = np.array([near[c][rng.integers(near[c].size)] for c in cust])
    frame = pd.DataFrame({"CUSTOMER_ID": cust, "TERMINAL_ID": term, "day": day, "secs": secs, "amount": amount})
    return frame.sort_values(["day", "secs"], kind="stable", ignore_index=True)


def _frauds(rng: np.random.Generator, f: pd.DataFrame, customers: int, terminals: int, days: int) -> None:
    """Label the three scenarios in place (``TX_FRAUD``, ``TX_FRAUD_SCENARIO``, inflated amounts)."""
    scenario = np.where(f["amount"] > 220, 1, 0)
    day, term, cust = f["day"].to_numpy(), f["TERMINAL_ID"].to_numpy(), f["CUSTOMER_ID"].to_numpy()
    for d in range(days):
        for t in rng.choice(terminals, rng.poisson(2 * terminals / 10_000), replace=False):
            hit = (term == t) & (day >= d) & (day < d + 28) & (scenario == 0)
            scenario[hit] = 2
        for c in rng.choice(customers, rng.poisson(3 * customers / 5_000), replace=False):
            rows = np.flatnonzero((cust == c) & (day >= d) & (day < d + 14) & (scenario == 0))
            pick = rows[rng.random(rows.size) < 1 / 3]
            f.loc[pick, "amount"] *= 5
            scenario[pick] = 3
    f["TX_FRAUD"] = (scenario > 0).astype(int)
    f["TX_FRAUD_SCENARIO"] = np.where(scenario > 0, scenario.astype(str), "")


def make_handbook(customers: int = 2000, terminals: int = 4000, days: int = 120, seed: int = 0) -> pd.DataFrame:
    """The file as a frame in time order (columns named as in the Handbook's own files)."""
    rng = np.random.default_rng(seed)
    f = _transactions(rng, customers, terminals, days)
    _frauds(rng, f, customers, terminals, days)
    when = START + pd.to_timedelta(f["day"] * 86_400 + f["secs"], unit="s")
    return pd.DataFrame(
        {
            "TRANSACTION_ID": np.arange(len(f)),
            "TX_DATETIME": when.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "CUSTOMER_ID": f["CUSTOMER_ID"],
            "TERMINAL_ID": f["TERMINAL_ID"],
            "TX_AMOUNT": f["amount"].round(2),
            "TX_FRAUD": f["TX_FRAUD"],
            "TX_FRAUD_SCENARIO": f["TX_FRAUD_SCENARIO"],
        }
    )


def main() -> None:
    """Command line: write the file, print its size, fraud rate and the ``--map`` to train with."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--terminals", type=int, default=4000)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    frame = make_handbook(a.customers, a.terminals, a.days, a.seed)
    frame.to_csv(a.out, index=False)
    print(f"wrote {a.out}: {len(frame):,} rows, {frame['TX_FRAUD'].mean():.2%} fraud; --map {MAP}")


if __name__ == "__main__":
    main()
