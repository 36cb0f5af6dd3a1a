#!/usr/bin/env python
"""Write a synthetic card-transaction file in the Sparkov layout (Kaggle ``fraudTrain.csv``).

Why: the public Sparkov files cannot be downloaded on the build machine, yet ``fraudguard
train --format sparkov`` must be checked on data of that shape against a textbook baseline.
FraudGuard's own generator would only test FraudGuard against its own world, so this file
follows the mechanics of the public Sparkov generator (namebrandon/Sparkov_Data_Generation)
instead, written from scratch:

* cardholders with a home (lat/long), city population, gender, birth date and job; each
  shops about 1.5-5 times a day, in categories of their own liking (the 14 Sparkov
  categories), at merchants drawn uniformly within the category; amounts log-normal per
  category; hours mostly in the afternoon and evening; the merchant's location is drawn
  within one degree of the cardholder's home for every transaction (as Sparkov does);
* fraud comes in episodes: a card (older cardholders somewhat more often) is compromised
  for 1-7 days, with 1-5 frauds a day, mostly between 22:00 and 04:00, in the categories
  fraud favours (grocery_pos, shopping_net, misc_net, shopping_pos, gas_transport) at the
  amounts fraud favours (hundreds of dollars in shopping and grocery, a few dollars at gas
  stations); as in Sparkov, the card's ordinary purchases on those days are dropped;
* the columns, names and quirks of the Kaggle file: an unnamed index column first,
  ``trans_date_trans_time`` as ``YYYY-MM-DD HH:MM:SS``, ``unix_time`` seven years behind
  it, merchant names prefixed ``fraud_``, 32-hex-digit ``trans_num``.

Usage::

    python scripts/synth_sparkov.py --out /tmp/sparkov_synth.csv [--cards 1000] [--days 150] [--seed 11]

Same seed, same bytes. Nothing in FraudGuard reads this script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

CATEGORIES = (
    "gas_transport", "grocery_pos", "home", "shopping_pos", "kids_pets", "shopping_net", "entertainment",
    "food_dining", "personal_care", "health_fitness", "misc_pos", "misc_net", "grocery_net", "travel",
)  # fmt: skip
LEGIT_SHARE = np.array([10.2, 9.5, 9.5, 9.0, 8.7, 7.5, 7.2, 7.0, 7.0, 6.6, 6.1, 4.9, 3.5, 3.1])
"""Share (%) of each category among legitimate purchases (close to the Kaggle file's)."""
LEGIT_AMOUNT = np.array([4.0, 4.5, 3.8, 3.9, 3.8, 3.9, 3.7, 3.7, 3.4, 3.8, 3.6, 3.5, 3.9, 3.5])
LEGIT_SIGMA = np.array([0.6, 0.6, 0.9, 1.0, 0.9, 1.1, 0.9, 0.8, 0.9, 0.7, 1.0, 1.1, 0.5, 1.4])
"""Log-normal median (log dollars) and spread of legitimate amounts per category."""
FRAUD_SHARE = np.array([8.0, 24.0, 2.5, 11.0, 2.5, 23.0, 2.5, 2.0, 2.5, 2.0, 3.5, 12.0, 1.5, 1.0])
FRAUD_AMOUNT = np.array([2.5, 5.75, 5.4, 6.75, 3.0, 6.85, 5.9, 4.6, 3.2, 3.0, 5.4, 6.65, 3.0, 2.5])
FRAUD_SIGMA = np.array([0.4, 0.12, 0.5, 0.25, 0.6, 0.25, 0.4, 0.7, 0.7, 0.6, 0.8, 0.3, 0.5, 0.6])
"""Category share (%), median and spread of fraud amounts: grocery ~$315, online shopping ~$950."""
HOURLY_LEGIT = np.array([0.5] * 12 + [1.0] * 12)
"""Relative legitimate rate per hour: half as many purchases before noon."""
NIGHT = np.array([22, 23, 0, 1, 2, 3])
START = pd.Timestamp("2019-01-01")
UNIX_OFFSET_S = 2557 * 86400
"""Sparkov's ``unix_time`` runs exactly seven years (2012 -> 2019) behind its datetime column."""
NAMES = ("Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Taylor", "Lee",
         "Clark", "Young", "Hall", "Allen", "King", "Wright", "Hill", "Green", "Baker", "Adams", "Nelson",
         "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Parker", "Evans", "Collins", "Stewart", "Rippin",
         "Kub", "Mann", "Heller", "Gutmann", "Zieme", "Lind", "Buckridge", "Kiehn", "Kutch", "Hermann")  # fmt: skip
FIRST = ("Jennifer", "Stephanie", "Edward", "Jeremy", "Tyler", "Mary", "John", "Linda", "James", "Susan")
JOBS = ("Psychologist, counselling", "Special educational needs teacher", "Nature conservation officer",
        "Patent attorney", "Dance movement psychotherapist", "Transport planner", "Arboriculturist")  # fmt: skip
STATES = ("NC", "WA", "ID", "MT", "VA", "PA", "KS", "TN", "IA", "WV", "FL", "CA", "NM", "NJ", "OK", "IN", "MA", "TX")


def _cards(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Cardholders: card number, identity, home, city size, birth date, taste and shopping rate."""
    dob = START - pd.to_timedelta(rng.uniform(18, 90, n) * 365.25, unit="D")
    return pd.DataFrame(
        {
            "cc_num": rng.integers(10**11, 10**16, n, dtype=np.int64),
            "first": rng.choice(FIRST, n),
            "last": rng.choice(NAMES, n),
            "gender": rng.choice(["F", "M"], n, p=[0.55, 0.45]),
            "street": [f"{k} {rng.choice(NAMES)} Street" for k in rng.integers(1, 9999, n)],
            "city": [f"{rng.choice(NAMES)}ville" for _ in range(n)],
            "state": rng.choice(STATES, n),
            "zip": rng.integers(10000, 99999, n),
            "lat": np.round(rng.uniform(27.0, 48.0, n), 4),
            "long": np.round(rng.uniform(-122.0, -72.0, n), 4),
            "city_pop": np.round(np.exp(rng.normal(8.0, 2.0, n))).astype(np.int64) + 20,
            "job": rng.choice(JOBS, n),
            "dob": dob.strftime("%Y-%m-%d"),
            "rate": rng.lognormal(np.log(2.8), 0.35, n),
            "age": (START - dob).days.to_numpy() / 365.25,
        }
    )


def _merchants(rng: np.random.Generator, per_category: int) -> tuple[np.ndarray, np.ndarray]:
    """Merchant names per category (``fraud_`` prefixed like Sparkov's), as (names, category index)."""
    names, cats = [], []
    for c in range(len(CATEGORIES)):
        for _ in range(per_category):
            a, b, d = rng.choice(NAMES, 3)
            names.append(f"fraud_{a}, {b} and {d}" if rng.random() < 0.4 else f"fraud_{a}-{b}")
            cats.append(c)
    return np.array(names, dtype=object), np.array(cats)


def _hours(rng: np.random.Generator, n: int, night_share: float) -> np.ndarray:
    day = rng.choice(24, n, p=HOURLY_LEGIT / HOURLY_LEGIT.sum())
    return np.where(rng.random(n) < night_share, rng.choice(NIGHT, n), day)


def _legit(rng: np.random.Generator, cards: pd.DataFrame, days: int) -> pd.DataFrame:
    counts = rng.poisson(cards["rate"].to_numpy() * days)
    card = np.repeat(np.arange(len(cards)), counts)
    n = card.size
    taste = rng.dirichlet(LEGIT_SHARE / 4, len(cards))  # each cardholder's own category mix
    cum = np.cumsum(taste, axis=1)[card]
    cat = np.minimum((cum < rng.random(n)[:, None]).sum(axis=1), len(CATEGORIES) - 1)
    day = rng.integers(0, days, n)
    secs = day * 86400 + _hours(rng, n, 0.0) * 3600 + rng.integers(0, 3600, n)
    amt = np.exp(rng.normal(LEGIT_AMOUNT[cat], LEGIT_SIGMA[cat]))
    return pd.DataFrame({"card": card, "cat": cat, "secs": secs, "amt": amt, "is_fraud": 0})


def _fraud(rng: np.random.Generator, cards: pd.DataFrame, days: int, share: float) -> pd.DataFrame:
    age_weight = 0.6 + cards["age"].to_numpy() / 60.0  # older cardholders are hit somewhat more often
    hit = np.flatnonzero(rng.random(len(cards)) < share * age_weight / age_weight.mean())
    rows = []
    for c in hit:
        length = int(rng.integers(1, 8))
        first = int(rng.integers(0, max(1, days - length)))
        for d in range(first, first + length):
            k = int(rng.integers(1, 6))
            cat = rng.choice(len(CATEGORIES), k, p=FRAUD_SHARE / FRAUD_SHARE.sum())
            hour = _hours(rng, k, 0.8)
            day = d + (hour < 4)  # a night that starts at 22:00 runs into the next day
            rows.append(
                pd.DataFrame(
                    {
                        "card": c,
                        "cat": cat,
                        "secs": day * 86400 + hour * 3600 + rng.integers(0, 3600, k),
                        "amt": np.exp(rng.normal(FRAUD_AMOUNT[cat], FRAUD_SIGMA[cat])),
                        "is_fraud": 1,
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True)
    return out[out["secs"] < days * 86400]


def make_sparkov(cards_n: int = 1000, days: int = 150, seed: int = 11, fraud_cards: float = 0.25) -> pd.DataFrame:
    """The synthetic file as a frame in Kaggle column order, sorted by time."""
    rng = np.random.default_rng(seed)
    cards = _cards(rng, cards_n)
    names, merchant_cat = _merchants(rng, 50)
    legit = _legit(rng, cards, days)
    fraud = _fraud(rng, cards, days, fraud_cards)
    fraud_days = set(zip(fraud["card"], fraud["secs"] // 86400, strict=True))
    keep = [(c, d) not in fraud_days for c, d in zip(legit["card"], legit["secs"] // 86400, strict=True)]
    tx = pd.concat([legit[keep], fraud], ignore_index=True).sort_values("secs", kind="stable", ignore_index=True)
    n = len(tx)
    by_cat = [np.flatnonzero(merchant_cat == c) for c in range(len(CATEGORIES))]
    merchant = np.empty(n, dtype=object)
    for c, idx in enumerate(by_cat):
        rows = np.flatnonzero(tx["cat"].to_numpy() == c)
        merchant[rows] = names[rng.choice(idx, rows.size)]
    holder = cards.iloc[tx["card"].to_numpy()].reset_index(drop=True)
    when = START + pd.to_timedelta(tx["secs"], unit="s")
    out = pd.DataFrame(
        {
            "trans_date_trans_time": when.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "cc_num": holder["cc_num"],
            "merchant": merchant,
            "category": np.array(CATEGORIES)[tx["cat"]],
            "amt": np.round(tx["amt"].clip(1.0, 28_000.0), 2),
        }
    )
    for col in ("first", "last", "gender", "street", "city", "state", "zip", "lat", "long", "city_pop", "job", "dob"):
        out[col] = holder[col]
    hi, lo = rng.integers(0, 2**63, n), rng.integers(0, 2**63, n)
    out["trans_num"] = [f"{h:016x}{q:016x}" for h, q in zip(hi.tolist(), lo.tolist(), strict=True)]
    out["unix_time"] = (when.astype("int64") // 10**9 - UNIX_OFFSET_S).to_numpy()
    out["merch_lat"] = np.round(holder["lat"] + rng.uniform(-1, 1, n), 6)
    out["merch_long"] = np.round(holder["long"] + rng.uniform(-1, 1, n), 6)
    out["is_fraud"] = tx["is_fraud"].to_numpy()
    return out


def main() -> None:
    """Command line: write the file and print its size and fraud rate."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cards", type=int, default=1000)
    p.add_argument("--days", type=int, default=150)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--fraud-cards", type=float, default=0.25, help="share of cards hit by one fraud episode")
    a = p.parse_args()
    frame = make_sparkov(a.cards, a.days, a.seed, a.fraud_cards)
    frame.to_csv(a.out, index=True)  # the Kaggle file's first column is an unnamed row index
    print(f"wrote {a.out}: {len(frame):,} rows, {int(frame['is_fraud'].sum()):,} frauds "
          f"({frame['is_fraud'].mean():.3%}), {frame['trans_date_trans_time'].iloc[0]} .. "
          f"{frame['trans_date_trans_time'].iloc[-1]}")  # fmt: skip


if __name__ == "__main__":
    main()
