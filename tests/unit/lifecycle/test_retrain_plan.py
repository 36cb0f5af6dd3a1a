"""Retraining's pure steps: labels win over carried truth, immature labels and the window are held out."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import DataFormatError, ModelError
from fraudguard.models.retrain import RetrainPlan, parse_duration, split_history, with_labels


def history(n: int = 2000) -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "event_time": t0 + pd.to_timedelta(np.arange(n) * 3600, unit="s"),  # one per hour
            "is_fraud": np.where(np.arange(n) % 10 == 0, 1.0, 0.0),
        }
    )


def test_labels_win_over_truth_and_fill_unknowns():
    h = history(5)
    h.loc[4, "is_fraud"] = np.nan
    labels = pd.DataFrame({"transaction_id": ["t0", "t1", "t4", "t1"], "is_fraud": [0.0, 0.0, 1.0, 1.0]})
    out = with_labels(h, labels)
    assert out["is_fraud"].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]  # t1: the last label wins
    assert out["label_source"].tolist() == ["label", "label", "truth", "truth", "label"]
    assert h["is_fraud"].iloc[0] == 1.0  # input untouched


def test_split_holds_out_immature_rows_and_the_newest_window():
    h = with_labels(history(2000), pd.DataFrame(columns=["transaction_id", "is_fraud"]))
    plan = RetrainPlan(since=timedelta(days=60), label_delay=timedelta(days=7), eval_fraction=0.2)
    data, window, bounds = split_history(h, plan)
    newest = h["event_time"].max()
    assert data["event_time"].max() <= newest - timedelta(days=7)  # 168 immature rows left out
    assert data["event_time"].min() >= newest - timedelta(days=60)
    assert len(data) == 60 * 24 + 1 - 168
    assert window.sum() == pytest.approx(0.2 * len(data), abs=1)
    assert data.loc[window, "event_time"].min() > data.loc[~window, "event_time"].max()  # window is the newest
    assert bounds["label_delay_s"] == 7 * 86400


def test_bad_inputs_are_refused():
    assert parse_duration("30d") == timedelta(days=30) and parse_duration("90m") == timedelta(minutes=90)
    for bad in ("30", "d", "1w", "-3d", "x1d"):
        with pytest.raises(ModelError, match="not a duration"):
            parse_duration(bad)
    with pytest.raises(ModelError, match="evaluation window"):
        RetrainPlan(eval_fraction=0.9)
    with pytest.raises(DataFormatError, match="need 1000"):
        split_history(with_labels(history(500), pd.DataFrame(columns=["transaction_id", "is_fraud"])), RetrainPlan())
