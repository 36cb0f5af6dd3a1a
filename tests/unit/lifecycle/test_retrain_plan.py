"""Retraining's pure steps: labels win over carried truth, immature labels and the window are held out."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import DataFormatError, ModelError
from fraudguard.generator import generate_frame
from fraudguard.models.retrain import Census, RetrainPlan, Scope, latest_labels, parse_duration, with_labels
from fraudguard.models.retrain_sample import HeldHistory, Sample
from fraudguard.models.trainer import TRAINING_FEATURES


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
    assert with_labels(h, latest_labels(labels)).equals(out)  # pre-reduced labels: the same


def _scoped(h: pd.DataFrame, plan: RetrainPlan) -> tuple[pd.DataFrame, Census]:
    scope = Scope.of(h["event_time"].max(), plan)
    data = h[scope.mask(h)]
    census = Census()
    for part in np.array_split(np.arange(len(data)), 7):  # counted slice by slice
        census.add(data.iloc[part])
    return data, census


def test_scope_holds_out_immature_and_old_rows():
    h = with_labels(history(2000), pd.DataFrame(columns=["transaction_id", "is_fraud"]))
    h.loc[h.index[-200], "is_fraud"] = np.nan  # unlabelled: out too
    plan = RetrainPlan(since=timedelta(days=60), label_delay=timedelta(days=7), eval_fraction=0.2)
    data, census = _scoped(h, plan)
    newest = h["event_time"].max()
    assert data["event_time"].max() <= newest - timedelta(days=7)  # 168 immature rows left out
    assert data["event_time"].min() >= newest - timedelta(days=60)
    assert len(data) == census.rows == 60 * 24 + 1 - 168 - 1
    assert census.frauds == int(data["is_fraud"].sum()) and census.sources == {"truth": census.rows}


def test_window_is_the_newest_fraction_and_every_row_is_held_under_max_rows():
    frame = generate_frame(6_000, seed=3, customers=300, merchants=80, fraud_rate=0.05)
    h = with_labels(
        frame.sort_values("event_time", kind="stable"), pd.DataFrame(columns=["transaction_id", "is_fraud"])
    )
    plan = RetrainPlan(since=timedelta(days=60), eval_fraction=0.2)
    data, census = _scoped(h, plan)
    sample = Sample.plan(census, plan)
    assert (sample.fraud_rate, sample.legit_rate) == (1.0, 1.0)
    held = HeldHistory(sample, TRAINING_FEATURES)
    for part in np.array_split(np.arange(len(data)), 13):  # any slicing
        held.add(data.iloc[part])
    train, window, bounds = held.split()
    assert len(train.frame) + len(window.y) == len(data) == held.held
    assert len(window.y) == pytest.approx(0.2 * len(data), abs=1)
    assert train.frame["event_time"].max() < pd.Timestamp(bounds["from"])  # the window is the newest
    assert (window.weights == 1.0).all() and bounds["to"] == data["event_time"].iloc[-1].isoformat()


def test_bad_inputs_are_refused():
    assert parse_duration("30d") == timedelta(days=30) and parse_duration("90m") == timedelta(minutes=90)
    for bad in ("30", "d", "1w", "-3d", "x1d"):
        with pytest.raises(ModelError, match="not a duration"):
            parse_duration(bad)
    with pytest.raises(ModelError, match="evaluation window"):
        RetrainPlan(eval_fraction=0.9)
    with pytest.raises(ModelError, match="max-rows"):
        RetrainPlan(max_rows=100)
    _data, census = _scoped(
        with_labels(history(500), pd.DataFrame(columns=["transaction_id", "is_fraud"])), RetrainPlan()
    )
    with pytest.raises(DataFormatError, match="need 1000"):
        Sample.plan(census, RetrainPlan())
