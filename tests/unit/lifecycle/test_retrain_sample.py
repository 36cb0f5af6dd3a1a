"""Retraining's sample: bounded, seeded, frauds first, and weighted metrics that estimate the whole window."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from fraudguard.models.retrain import Census, RetrainPlan, Window, compare
from fraudguard.models.retrain_sample import HeldHistory, Sample
from fraudguard.models.scorer import Scorer
from fraudguard.models.trainer import TRAINING_FEATURES


def test_rates_hold_everything_that_fits_and_frauds_first_otherwise() -> None:
    plan = RetrainPlan(max_rows=10_000)
    fits = Sample.plan(Census(rows=9_000, frauds=90), plan)
    assert (fits.fraud_rate, fits.legit_rate, fits.cut_index) == (1.0, 1.0, 7_200)
    big = Sample.plan(Census(rows=1_000_000, frauds=1_000), plan)
    assert big.fraud_rate == 1.0 and big.legit_rate == pytest.approx(9_000 / 999_000)
    fraud_heavy = Sample.plan(Census(rows=1_000_000, frauds=100_000), plan)
    assert fraud_heavy.fraud_rate == pytest.approx(0.05) and fraud_heavy.legit_rate == pytest.approx(5_000 / 900_000)
    entry = fraud_heavy.describe(Census(rows=1_000_000, frauds=100_000))
    assert entry["weight"] == {"fraud": pytest.approx(20.0), "legit": pytest.approx(180.0)}


def test_the_sample_is_seeded_per_transaction_and_near_its_rate() -> None:
    ids = np.array([f"tx-{i}" for i in range(40_000)], dtype=object)
    y = (np.arange(40_000) % 50 == 0).astype(np.float64)
    sample = Sample(fraud_rate=1.0, legit_rate=0.1, seed=7, cut_index=0)
    keep = sample.keep(ids, y)
    assert keep[y == 1].all()  # every fraud
    assert keep[y == 0].mean() == pytest.approx(0.1, abs=0.01)
    order = np.random.default_rng(0).permutation(len(ids))  # any slicing or order: the same rows
    assert (sample.keep(ids[order], y[order]) == keep[order]).all()
    other = Sample(fraud_rate=1.0, legit_rate=0.1, seed=8, cut_index=0).keep(ids, y)
    assert (other != keep).any()


def test_rows_held_stay_under_max_rows_whatever_the_history_length() -> None:
    from fraudguard.generator import generate_frame

    frame = generate_frame(20_000, seed=4, customers=500, merchants=100, fraud_rate=0.02)
    frame = frame.sort_values("event_time", kind="stable").reset_index(drop=True)
    frame["label_source"] = "truth"
    census = Census(rows=len(frame), frauds=int(frame["is_fraud"].sum()), sources=Counter(truth=len(frame)))
    plan = RetrainPlan(max_rows=4_000)
    sample = Sample.plan(census, plan)
    held = HeldHistory(sample, TRAINING_FEATURES)
    for part in np.array_split(np.arange(len(frame)), 9):
        held.add(frame.iloc[part])
    train, window, _bounds = held.split()
    assert held.seen == 20_000 and 3_600 <= held.held <= 4_400  # features for all, 4,000 held (in expectation)
    assert int(train.frame["is_fraud"].sum()) + int(window.y.sum()) == census.frauds  # every fraud kept
    assert set(np.round(window.weights, 6)) == {1.0, round(1 / sample.legit_rate, 6)}
    assert window.weights @ np.ones(len(window.y)) == pytest.approx(0.2 * len(frame), rel=0.1)


@pytest.fixture
def scorer(three_versions) -> Scorer:
    root, versions = three_versions
    return Scorer.load(root, versions[0])


def test_weighted_metrics_equal_the_metrics_of_the_rows_they_stand_for(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    y = frame["is_fraud"].to_numpy()
    champion = scorer.version
    plain = compare(Window(features, y, np.ones(len(y))), {champion: scorer}, champion)
    score = scorer.raw_scores(features)[1]
    assert plain["pr_auc"][champion] == average_precision_score(y, score)
    assert plain["labelled"] == len(y) and plain["frauds"] == int(y.sum())

    # legit rows held at rate 1/2 with weight 2 == the same rows written twice, weight 1
    legit = np.flatnonzero(y == 0)
    doubled = np.concatenate([np.arange(len(y)), legit])
    expanded = Window(features.iloc[doubled].reset_index(drop=True), y[doubled], np.ones(len(doubled)))
    weighted = Window(features, y, np.where(y == 1, 1.0, 2.0))
    a, b = compare(weighted, {champion: scorer}, champion), compare(expanded, {champion: scorer}, champion)
    assert a["pr_auc"][champion] == pytest.approx(b["pr_auc"][champion], abs=1e-12)
    assert a["recall_at_champion_volume"] == pytest.approx(b["recall_at_champion_volume"])
    assert (a["labelled"], a["frauds"], a["champion_alert_volume"]) == (
        b["labelled"],
        b["frauds"],
        b["champion_alert_volume"],
    )
    assert pd.Series(score).nunique() > 10  # the comparison is not between constant scores
