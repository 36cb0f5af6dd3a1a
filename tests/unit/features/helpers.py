"""Small transaction frames built by hand for the feature tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2026-03-02 10:00:00", tz="UTC")  # a Monday
"""Reference time of the hand-built examples."""


def tx(
    seconds: float, card: str = "c1", amount: float = 10.0, merchant: str = "m1", **extra: object
) -> dict[str, object]:
    """One transaction ``seconds`` after :data:`T0` (other fields default to the schema's)."""
    row: dict[str, object] = {
        "transaction_id": extra.pop("transaction_id", f"{card}-{seconds}-{merchant}"),
        "card_id": card,
        "customer_id": None,
        "event_time": T0 + pd.Timedelta(seconds=seconds),
        "amount": amount,
        "currency": "USD",
        "merchant_id": merchant,
        "merchant_category": "grocery",
        "channel": "pos",
        "card_present": True,
        "customer_lat": np.nan,
        "customer_lon": np.nan,
        "merchant_lat": np.nan,
        "merchant_lon": np.nan,
        "device_id": None,
        "is_fraud": np.nan,
        "fraud_scenario": None,
    }
    row.update(extra)
    return row


def frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """A transaction frame in the shape ``schema.to_frame`` produces."""
    df = pd.DataFrame(list(rows))
    df["event_time"] = pd.to_datetime(df["event_time"], utc=True)
    for c in ("customer_lat", "customer_lon", "merchant_lat", "merchant_lon", "is_fraud"):
        df[c] = df[c].astype(np.float64)
    return df


def random_stream(
    n: int, seed: int = 0, *, cards: int = 30, merchants: int = 12, late_share: float = 0.2
) -> pd.DataFrame:
    """A realistic-looking stream in arrival order, with a share of late (out-of-order) events."""
    rng = np.random.default_rng(seed)
    secs = np.sort(rng.uniform(0, 3 * 86400, n))
    late = rng.random(n) < late_share
    secs = secs - late * rng.uniform(0, 1200, n)  # up to 20 min late
    secs[rng.random(n) < 0.02] -= 7200  # a few very late ones
    return frame(
        [
            tx(
                float(secs[i]),
                card=f"c{rng.integers(cards)}",
                amount=float(np.round(rng.gamma(2.0, 40.0), 2)),
                merchant=f"m{rng.integers(merchants)}",
                merchant_category=str(rng.choice(["grocery", "fuel", "travel", "not-a-category"])),
                channel=str(rng.choice(["pos", "online", "atm"])),
                card_present=bool(rng.random() < 0.6),
                merchant_lat=float(rng.uniform(40, 42)) if rng.random() < 0.9 else np.nan,
                merchant_lon=float(rng.uniform(-75, -72)),
                device_id=str(rng.choice(["d1", "d2", "d3"])) if rng.random() < 0.7 else None,
                is_fraud=float(rng.random() < 0.08),
                x_V1=float(rng.normal()),
                transaction_id=f"t{i}",
            )
            for i in range(n)
        ]
    ).assign(merchant_lon=lambda d: d["merchant_lon"].where(d["merchant_lat"].notna()))
