"""The merchant streak features against values worked out by hand, in the block and the one-row code."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
from fraudguard.features.names import STREAK_FEATURES
from tests.unit.features.helpers import T0, frame, tx

DAY = 86400.0
CFG = FeatureConfig(
    label_delay_s=DAY, fraud_risk_delay_s=86400, fraud_risk_windows_s=(86400, 3 * 86400), fraud_share_windows_s=(86400,)
)
"""Labels count a day after their transaction; the known days of day D are [D - 4, D - 1)."""


def history() -> pd.DataFrame:
    rows = []
    # m1: day 0 legit, day 1 fraud, day 2 one legit + one fraud, day 3 fraud, day 4 fraud, day 5 the query
    for day, frauds in ((0, [0]), (1, [1]), (2, [0, 1]), (3, [1]), (4, [1])):
        for k, f in enumerate(frauds):
            rows.append(tx(day * DAY + 3600 * k, merchant="m1", card=f"c{day}{k}", is_fraud=float(f)))
    # m2: legit sales on days 2 and 3 only; m3: a day with two frauds and nothing legit
    rows += [tx(2 * DAY, merchant="m2", card="x", is_fraud=0.0), tx(3 * DAY, merchant="m2", card="y", is_fraud=0.0)]
    rows += [tx(3 * DAY + k, merchant="m3", card=f"z{k}", is_fraud=1.0) for k in range(2)]
    for m in ("m1", "m2", "m3", "m4"):
        rows.append(tx(5 * DAY + 7200, merchant=m, card=f"q-{m}", is_fraud=0.0))
    return frame(rows).sort_values("event_time", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_streak_features_by_hand(batch: int) -> None:
    assert T0.hour == 10  # every row of a day stays inside its UTC day
    df = history()
    pipe = FeaturePipeline(CFG, card_store=InMemoryStateStore(), merchant_store=InMemoryStateStore())
    out = pd.concat([pipe.transform(df.iloc[i : i + batch]) for i in range(0, len(df), batch)])
    q = out[list(STREAK_FEATURES)].iloc[-4:].to_numpy()
    # Day 5, known days 1..3. m1: day 2 is the last legit day (2 sales, 1 fraud), day 3 the last
    # fraud; after day 2 one fraud (day 3), which started 2 days ago. Day 4 is not known yet.
    np.testing.assert_array_equal(q[0], [3.0, 2.0, 1.0, 2.0])
    # m2: no fraud, last sale day 3
    assert q[1][0] == 2.0 and math.isnan(q[1][1]) and q[1][2] == 0.0 and math.isnan(q[1][3])
    # m3: only frauds (two on day 3): no legit day, the run is both frauds
    assert math.isnan(q[2][0]) and q[2][1] == 2.0 and q[2][2] == 2.0 and q[2][3] == 2.0
    # m4: never seen
    assert all(math.isnan(v) for v in q[3][[0, 1, 3]]) and q[3][2] == 0.0
