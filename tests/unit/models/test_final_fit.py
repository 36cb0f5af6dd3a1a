"""The refit on train + validation after selection: what is refitted, what is kept, what is reported."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from fraudguard import schema
from fraudguard.models.final_fit import refit_on_validation, refit_rounds
from fraudguard.models.metrics import evaluate
from fraudguard.models.training import TrainResult, time_split

from .conftest import SMALL


@pytest.mark.parametrize(
    ("chosen", "rows_on", "rows_now", "most", "expected"),
    [
        (60, 600, 800, 300, 80),  # grows with the rows
        (250, 600, 800, 300, 300),  # never past --xgb-trees
        (30, 600, 800, 20, 30),  # nor below what early stopping chose
        (7, 600, 600, 300, 7),
    ],
)
def test_refit_rounds(chosen: int, rows_on: int, rows_now: int, most: int, expected: int) -> None:
    assert refit_rounds(chosen, rows_on, rows_now, most) == expected


@pytest.fixture(scope="module")
def refitted(small_data: tuple[pd.DataFrame, pd.DataFrame], trained: TrainResult) -> TrainResult:
    frame, features = small_data
    return refit_on_validation(trained, frame, features, SMALL)


def test_supervised_models_are_refitted_on_train_and_validation(
    small_data: tuple[pd.DataFrame, pd.DataFrame], trained: TrainResult, refitted: TrainResult
) -> None:
    frame, _ = small_data
    parts = time_split(frame["event_time"])
    info = refitted.selection["final_fit"]
    assert info["rows"] == parts["train"].size + parts["validation"].size
    assert info["frauds"] == int(frame["is_fraud"].to_numpy()[np.r_[parts["train"], parts["validation"]]].sum())
    chosen = trained.selection["xgboost"]["chosen"]["rounds"]
    assert info["xgboost_rounds"] == refit_rounds(chosen, parts["train"].size, info["rows"], SMALL.xgb_trees)
    assert refitted.models.xgboost.num_boosted_rounds() == info["xgboost_rounds"]
    assert refitted.models.xgboost is not trained.models.xgboost
    assert refitted.models.random_forest is not trained.models.random_forest
    assert refitted.models.random_forest.class_weight[1] != 1.0  # the chosen class weight, not none


def test_unsupervised_model_stacker_and_thresholds_are_kept(trained: TrainResult, refitted: TrainResult) -> None:
    assert refitted.models.isolation_forest is trained.models.isolation_forest
    assert refitted.models.calibration is trained.models.calibration
    assert refitted.stacker is trained.stacker
    assert refitted.thresholds is trained.thresholds
    assert refitted.metrics["validation"] == trained.metrics["validation"]
    assert refitted.ablation == trained.ablation
    assert "final_fit" not in trained.selection  # the input result is not modified


def test_test_metrics_are_those_of_the_refitted_models(
    small_data: tuple[pd.DataFrame, pd.DataFrame], trained: TrainResult, refitted: TrainResult
) -> None:
    frame, features = small_data
    test = time_split(frame["event_time"])["test"]
    x = np.ascontiguousarray(features.to_numpy(np.float32)[test])
    y = (frame["is_fraud"].to_numpy()[test] >= 0.5).astype(int)
    base = refitted.models.scores(x)
    expected = {m: evaluate(y, base[:, j], refitted.thresholds[m].value) for j, m in enumerate(schema.MODEL_NAMES)}
    expected[schema.ENSEMBLE] = evaluate(y, refitted.stacker(base), refitted.thresholds[schema.ENSEMBLE].value)
    assert refitted.metrics["test"] == expected
    before = refitted.selection["final_fit"]["test_before_refit"]
    for model, m in trained.metrics["test"].items():
        assert before[model]["pr_auc"] == m["pr_auc"]
        assert before[model]["recall_at_1pct_fpr"] == m["recall_at_1pct_fpr"]


def test_refit_is_deterministic(small_data: tuple[pd.DataFrame, pd.DataFrame], trained: TrainResult) -> None:
    frame, features = small_data
    a = refit_on_validation(trained, frame, features, SMALL)
    b = refit_on_validation(trained, frame, features, replace(SMALL))
    assert a.metrics["test"] == b.metrics["test"]
