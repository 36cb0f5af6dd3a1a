"""The NumPy Saabas walk against XGBoost's own approximate contributions."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from fraudguard.models.contribs import TreeContributions
from fraudguard.models.training import TrainResult


def test_contributions_equal_xgboost(trained: TrainResult, small_data) -> None:
    _frame, features = small_data
    x = np.ascontiguousarray(features.to_numpy(np.float32)[:500])
    x[::7, 2] = np.nan  # missing values take the default branch
    booster = trained.models.xgboost
    walk = TreeContributions.of(booster, x.shape[1])
    ref = booster.predict(xgb.DMatrix(x, missing=np.nan), pred_contribs=True, approx_contribs=True)[:, :-1]
    got = walk(x)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-5)
    one = np.vstack([walk(x[i : i + 1]) for i in range(20)])
    np.testing.assert_array_equal(one, got[:20])
    assert walk(x[:0]).shape == (0, x.shape[1])
