"""Champion-vs-challenger numbers against scikit-learn and hand counts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from fraudguard.metrics.compare import compare_pair, jaccard, recall_at_volume


def test_compare_pair_matches_sklearn_and_hand_counts():
    rng = np.random.default_rng(2)
    n = 3000
    y = (rng.random(n) < 0.05).astype(float)
    champ = np.clip(rng.normal(0.2 + 0.5 * y, 0.15), 0, 1)
    chall = np.clip(rng.normal(0.2 + 0.3 * y, 0.15), 0, 1)
    truth = y.copy()
    truth[rng.random(n) < 0.3] = np.nan
    out = compare_pair(champ, np.full(n, 0.5), chall, np.full(n, 0.4), truth)
    known = ~np.isnan(truth)
    assert out["labelled"] == int(known.sum())
    assert out["champion_pr_auc"] == pytest.approx(average_precision_score(y[known], champ[known]))
    assert out["challenger_pr_auc"] == pytest.approx(average_precision_score(y[known], chall[known]))
    k = int((champ[known] >= 0.5).sum())
    top = np.argsort(-chall[known])[:k]
    assert out["challenger_recall_at_champion_volume"] == pytest.approx(y[known][top].sum() / y[known].sum())
    a, b = champ >= 0.5, chall >= 0.4
    assert out["alert_overlap"] == pytest.approx((a & b).sum() / (a | b).sum())
    assert 0 < len(out["scatter"]) <= 400


def test_edge_cases():
    assert recall_at_volume(np.array([0.0, np.nan]), np.array([0.5, 0.9]), 1) is None
    assert jaccard(np.zeros(3, bool), np.zeros(3, bool)) is None
    assert recall_at_volume(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.1]), 2) == 0.5
