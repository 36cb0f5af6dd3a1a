"""The API's column-wise prediction records equal ``schema.prediction_records``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.api.scoring import prediction_records


def _preds() -> pd.DataFrame:
    n = 3
    t = pd.DatetimeIndex(["2026-06-01T10:00:00.123456Z", "2026-06-01T10:00:01Z", "2026-06-01T11:00:00Z"])
    return pd.DataFrame(
        {
            "transaction_id": ["t1", "t2", "t3"],
            "card_id": ["c1", "c2", "c1"],
            "customer_id": [None, "u2", None],
            "event_time": t,
            "amount": [1.5, 20.0, 300.25],
            "merchant_id": ["m1", "m2", "m3"],
            "merchant_category": ["retail", "travel", "other"],
            "channel": ["pos", "online", "atm"],
            **{f"score_{m}": np.array([0.1, 0.5, 0.99]) + j / 100 for j, m in enumerate(schema.MODEL_NAMES)},
            "ensemble_score": [0.1, 0.6, 0.97],
            "threshold": np.full(n, 0.5),
            "decision": np.array(["legit", "fraud", "fraud"], dtype=object),
            "reasons": [[], ["new_device"], ["velocity_1h", "night_time"]],
            "model_version": ["v1"] * n,
            "is_fraud": [np.nan, 1.0, 0.0],
            "fraud_scenario": [None, "card_testing", None],
            "produced_at": pd.DatetimeIndex([pd.NaT, t[1], t[2]]),
            "scored_at": t + pd.Timedelta(seconds=1),
        }
    )


def test_records_equal_schema_records() -> None:
    preds = _preds()
    got, ref = prediction_records(preds), schema.prediction_records(preds)
    assert got == ref
    assert [schema.encode(p) for p in got] == [schema.encode(p) for p in ref]
    assert got[0].is_fraud is None and got[0].produced_at is None and got[1].reasons == ["new_device"]


def test_records_of_empty_frame() -> None:
    assert prediction_records(_preds().iloc[:0]) == []
