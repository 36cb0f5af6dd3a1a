"""The Spark driver's half of shadow scoring: array columns from the workers to challenger rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudguard.engines.spark.shadow import SHADOW_COLUMNS, SparkShadow, shadow_columns
from fraudguard.io.challenger_sinks import ShadowBuffer
from fraudguard.models.shadow import CHALLENGER_COLUMNS


def _predictions(n: int) -> pd.DataFrame:
    t = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "event_time": pd.date_range(t, periods=n, freq="s"),
            "model_version": "champ",
            "ensemble_score": np.linspace(0.1, 0.9, n),
            "decision": ["legit"] * (n - 1) + ["fraud"],
            "is_fraud": [0.0] * (n - 1) + [np.nan],
            "scored_at": t,
        }
    )


def test_rows_follow_each_rows_own_challengers_and_decide_nothing_for_the_champion() -> None:
    predictions = _predictions(3)
    # one partition scored by two challengers, one (after a role change) by none
    rows = pd.DataFrame(
        {
            "shadow_versions": [np.array(["a", "b"], dtype=object), None, np.array(["a"], dtype=object)],
            "shadow_scores": [np.array([0.2, 0.7]), None, np.array([0.6])],
            "shadow_thresholds": [np.array([0.5, 0.5]), None, np.array([0.9])],
        },
        index=[10, 11, 12],  # the collected frame's own index: positions matter, not labels
    )
    buffer = ShadowBuffer()
    shadow = SparkShadow(buffer)
    shadow(predictions, rows)
    out = buffer.get(predictions)
    assert out is not None and tuple(out.columns) == CHALLENGER_COLUMNS
    assert out[["transaction_id", "model_version", "score", "decision"]].values.tolist() == [
        ["t0", "a", 0.2, "legit"],
        ["t0", "b", 0.7, "fraud"],
        ["t2", "a", 0.6, "legit"],
    ]
    assert out["champion_decision"].tolist() == ["legit", "legit", "fraud"]
    assert out["champion_score"].tolist() == [0.1, 0.1, 0.9]
    assert np.isnan(out["is_fraud"].iloc[2]) and shadow.rows_scored == 3
    assert predictions["decision"].tolist() == ["legit", "legit", "fraud"]  # never changed


def test_no_challenger_in_service_gives_empty_lists_and_no_rows() -> None:
    features = pd.DataFrame({"f": [1.0, 2.0]})
    cols = shadow_columns(None, features)
    assert set(cols) == set(SHADOW_COLUMNS) and all(v == [[], []] for v in cols.values())
    predictions = _predictions(2)
    buffer = ShadowBuffer()
    SparkShadow(buffer)(predictions, pd.DataFrame(cols))
    assert buffer.get(predictions) is None
