#!/usr/bin/env python
"""Write a synthetic credit-card file in the ULB layout (``Time, V1..V28, Amount, Class``).

Why: the public ULB set (Kaggle "creditcardfraud") cannot be downloaded on the build machine,
yet ``fraudguard train --format ulb`` must be checked on data of that shape against a textbook
baseline. This file copies the set's *shape*, not its values:

* 284,807 rows over two days; ``Time`` in whole seconds from the first transaction, drawn
  from an hourly rate with a night trough (about 1/8 of the daytime rate at 3-5 a.m.),
  frauds from a flatter profile (relatively more fraud at night, as in the real set);
* ``V1..V28`` roughly Gaussian, uncorrelated, heavy-tailed (Student t, 5 degrees of freedom)
  with the real set's decreasing standard deviations (1.96 for V1 ... 0.33 for V28);
* 492 frauds (0.173 %) of three kinds that differ from legitimate rows in a subset of the
  components, nonlinearly: a shift along a direction in ten components (V14, V12, V10, V17,
  V4, ...) of varying severity; a shell in (V5, V9, V18) around the legitimate centre (no
  linear cut separates it); opposite-sign large values in (V1, V2) (an XOR). One fraud in
  eight is camouflaged (severity scaled down to near nothing) and 0.5 % of legitimate rows
  are unusual in the same components, so the set is not trivially separable: a plain
  XGBoost on the raw columns scores a test PR-AUC of 0.74-0.85 on a time-ordered split
  (seeds 13 and 21-24, ``scripts/textbook_baseline.py``);
* ``Amount`` log-normal (median about 20), related to V2 and V7 as in the real set, with
  some zero amounts; frauds are either tiny (card tests) or large;
* the header and ``Class`` values quoted like the Kaggle file (``"Time",...``, ``"0"``).

Usage::

    python scripts/synth_ulb.py --out /tmp/ulb_synth.csv [--rows 284807] [--frauds 492] [--seed 13]

Same seed, same bytes. Nothing in FraudGuard reads this script; it only writes a CSV that
``fraudguard train/evaluate --format ulb --input FILE`` read as a user's file would be.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd

ULB_STD = np.array(
    [1.96, 1.65, 1.52, 1.42, 1.38, 1.33, 1.24, 1.19, 1.10, 1.09, 1.02, 1.00, 1.00, 0.96,
     0.92, 0.88, 0.85, 0.84, 0.81, 0.77, 0.73, 0.73, 0.62, 0.61, 0.52, 0.48, 0.40, 0.33]
)  # fmt: skip
"""Standard deviations of the real set's V1..V28 (PCA components, so decreasing)."""
HOURLY = np.array(
    [0.30, 0.18, 0.12, 0.10, 0.10, 0.13, 0.25, 0.45, 0.70, 0.90, 1.00, 1.00,
     1.00, 0.98, 0.97, 0.96, 0.95, 0.95, 0.96, 0.97, 0.95, 0.85, 0.70, 0.50]
)  # fmt: skip
"""Relative transaction rate per hour of day (Time 0 is midnight)."""
SHIFT = {14: -1.0, 12: -0.9, 10: -0.8, 17: -0.9, 4: 0.7, 11: 0.6, 3: -0.6, 16: -0.5, 7: -0.4, 2: 0.3}
"""Fraud kind A: direction of the shift (component number: weight, in units of its std)."""
SHELL = (5, 9, 18)
"""Fraud kind B: components of the shell."""
XOR = (1, 2)
"""Fraud kind C: components whose signs differ."""


def _times(rng: np.random.Generator, n: int, days: int, flatten: float) -> np.ndarray:
    """``n`` whole seconds over ``days`` days from the hourly profile raised to ``flatten``."""
    weights = np.tile(HOURLY**flatten, days)
    hours = rng.choice(weights.size, size=n, p=weights / weights.sum())
    return np.floor(hours * 3600 + rng.uniform(0, 3600, n))


def _legit_components(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance heavy-tailed noise times the real set's standard deviations."""
    z = rng.standard_t(5, size=(n, ULB_STD.size)) / np.sqrt(5 / 3)
    return z * ULB_STD


def _fraud_components(rng: np.random.Generator, n: int, severity_scale: float) -> np.ndarray:
    """Components of ``n`` frauds: legitimate noise plus one of three fraud signatures."""
    v = _legit_components(rng, n) / ULB_STD  # work in std units, scale back at the end
    kind = rng.choice(3, size=n, p=[0.5, 0.25, 0.25])
    severity = severity_scale * rng.lognormal(0.0, 0.45, n)
    camouflaged = rng.random(n) < 0.12
    severity[camouflaged] *= rng.uniform(0.0, 0.35, int(camouflaged.sum()))
    a = kind == 0
    for k, w in SHIFT.items():
        v[a, k - 1] += w * severity[a] * 2.2
    b = np.flatnonzero(kind == 1)
    u = rng.normal(size=(b.size, len(SHELL)))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    radius = 1.0 + severity[b] * 2.3
    for j, k in enumerate(SHELL):
        v[b, k - 1] = u[:, j] * radius + 0.3 * rng.normal(size=b.size)
    c = np.flatnonzero(kind == 2)
    sign = rng.choice([-1.0, 1.0], c.size)
    mag = 0.8 + severity[c] * rng.uniform(1.2, 2.2, (2, c.size))
    v[c, XOR[0] - 1] = sign * mag[0]
    v[c, XOR[1] - 1] = -sign * mag[1]
    v[c, 20] += 0.8 * severity[c]  # V21
    v[c, 26] += 0.6 * severity[c]  # V27
    return v * ULB_STD


def _unusual_legit(rng: np.random.Generator, v: np.ndarray, share: float) -> None:
    """Give a ``share`` of legitimate rows partial fraud-like values (hard negatives), in place."""
    idx = np.flatnonzero(rng.random(v.shape[0]) < share)
    scale = rng.lognormal(-0.3, 0.5, idx.size)
    for k, w in SHIFT.items():
        v[idx, k - 1] += w * ULB_STD[k - 1] * scale * rng.uniform(0.5, 2.0, idx.size)


def _amounts(rng: np.random.Generator, v: np.ndarray, fraud: np.ndarray) -> np.ndarray:
    """Log-normal amounts related to V2 (negatively) and V7; frauds tiny or large."""
    n = v.shape[0]
    log_amt = 2.9 - 0.35 * v[:, 1] / ULB_STD[1] + 0.25 * v[:, 6] / ULB_STD[6] + rng.normal(0, 1.15, n)
    amt = np.exp(log_amt)
    nf = int(fraud.sum())
    tiny = rng.random(nf) < 0.5
    amt[fraud] = np.where(tiny, rng.lognormal(0.3, 0.9, nf), rng.lognormal(4.4, 1.2, nf))
    amt[(~fraud) & (rng.random(n) < 0.006)] = 0.0
    return np.round(np.clip(amt, 0.0, 25_691.16), 2)


def make_ulb(rows: int = 284_807, frauds: int = 492, seed: int = 13, severity: float = 3.0) -> pd.DataFrame:
    """The synthetic set as a frame in ULB column order, sorted by ``Time``."""
    rng = np.random.default_rng(seed)
    legit = rows - frauds
    t = np.concatenate([_times(rng, legit, 2, 1.0), _times(rng, frauds, 2, 0.5)])
    v_legit = _legit_components(rng, legit)
    _unusual_legit(rng, v_legit, 0.005)
    v = np.concatenate([v_legit, _fraud_components(rng, frauds, severity)])
    fraud = np.r_[np.zeros(legit, bool), np.ones(frauds, bool)]
    amount = _amounts(rng, v, fraud)
    order = np.argsort(t, kind="stable")
    frame = pd.DataFrame({"Time": t[order]})
    for j in range(ULB_STD.size):
        frame[f"V{j + 1}"] = v[order, j]
    frame["Amount"] = amount[order]
    frame["Class"] = np.where(fraud[order], "1", "0")
    return frame


def write_ulb(frame: pd.DataFrame, out: Path) -> None:
    """CSV quoted like the Kaggle file: quoted header and ``Class``, bare numbers."""
    body = frame.assign(Class='"' + frame["Class"] + '"')
    with out.open("w", newline="") as f:
        f.write(",".join(f'"{c}"' for c in frame.columns) + "\n")
        body.to_csv(f, index=False, header=False, float_format="%.6g", quoting=csv.QUOTE_NONE, quotechar="'")


def main() -> None:
    """Command line: write the file and print its row and fraud counts."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rows", type=int, default=284_807)
    p.add_argument("--frauds", type=int, default=492)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--severity", type=float, default=3.0, help="scale of the fraud signatures (harder below 1)")
    a = p.parse_args()
    frame = make_ulb(a.rows, a.frauds, a.seed, a.severity)
    write_ulb(frame, a.out)
    print(f"wrote {a.out}: {len(frame):,} rows, {int((frame['Class'] == '1').sum())} frauds, "
          f"Time {frame['Time'].min():.0f}..{frame['Time'].max():.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
