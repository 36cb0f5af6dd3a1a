"""Metrics against scikit-learn's own functions; thresholds on hand-made examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from fraudguard.errors import ModelError
from fraudguard.models.ensemble import RankCalibration, fit_stacker
from fraudguard.models.metrics import evaluate, recall_at_fpr
from fraudguard.models.thresholds import (
    Thresholds,
    best_f1_threshold,
    choose_thresholds,
    cost_threshold,
    fpr_threshold,
)


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.03).astype(int)
    s = np.clip(rng.normal(0.3 + 0.35 * y, 0.15), 0, 1)
    return y, s


def test_evaluate_matches_sklearn(scored) -> None:
    y, s = scored
    t = 0.55
    m = evaluate(y, s, t)
    pred = (s >= t).astype(int)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, s))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["confusion_matrix"] == confusion_matrix(y, pred).tolist()


def test_recall_at_fpr_matches_roc_curve_and_brute_force(scored) -> None:
    y, s = scored
    fpr, tpr, _ = roc_curve(y, s)
    for target in (0.01, 0.001):
        expected = max(t for f, t in zip(fpr, tpr, strict=True) if f <= target)
        assert recall_at_fpr(y, s, target) == pytest.approx(expected)
    # brute force: the fpr threshold picked by our own code achieves that recall
    t = fpr_threshold(y, s, 0.01)
    pred = s >= t
    assert pred[y == 0].mean() <= 0.01
    assert pred[y == 1].mean() == pytest.approx(recall_at_fpr(y, s, 0.01))


def test_thresholds_on_hand_made_example() -> None:
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    y = np.array([0, 0, 1, 0, 1, 1])
    # t=0.3 flags 4 rows with 3 frauds: P=.75, R=1, F1=.857 beats every other cut
    assert best_f1_threshold(y, s) == 0.3
    # 3 negatives: a 34 % FPR budget allows one false positive (0.4), so the lowest cut is 0.3
    assert fpr_threshold(y, s, 0.34) == 0.3
    # zero budget: only rows above every negative -> 0.5
    assert fpr_threshold(y, s, 0.0) == 0.5
    # ratio 10: cut at 0.3 costs 4 reviews, 0 missed = 4 (cheapest); ratio 0.5: alert on nothing
    assert cost_threshold(y, s, 10.0) == 0.3
    assert cost_threshold(y, s, 0.5) > 0.6
    # ratio 1.5: cut at 0.5 costs 2 + 1.5*1 = 3.5 < 4 at 0.3
    assert cost_threshold(y, s, 1.5) == 0.5


def test_ties_are_one_candidate() -> None:
    s = np.array([0.5, 0.5, 0.5, 0.1])
    y = np.array([1, 0, 1, 0])
    assert best_f1_threshold(y, s) == 0.5
    assert evaluate(y, s, 0.5)["confusion_matrix"] == [[1, 1], [0, 2]]


def test_thresholds_dict_round_trip_and_policy() -> None:
    s = np.linspace(0, 1, 100)
    y = (s > 0.7).astype(int)
    th = choose_thresholds(y, s, used="cost", fpr_target=0.05, cost_ratio=5)
    again = Thresholds.from_dict(th.to_dict())
    assert again == th and again.value == th.cost
    with pytest.raises(ModelError, match="policy"):
        choose_thresholds(y, s, used="median")  # type: ignore[arg-type]


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(ModelError, match="only one class"):
        evaluate(np.zeros(5), np.linspace(0, 1, 5), 0.5)
    with pytest.raises(ModelError, match="equal length"):
        evaluate(np.array([0, 1]), np.array([0.1]), 0.5)
    with pytest.raises(ModelError, match="NaN"):
        evaluate(np.array([0, 1]), np.array([0.1, np.nan]), 0.5)


def test_rank_calibration_is_monotone_and_bounded() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=2000)
    cal = RankCalibration.fit(raw)
    grid = np.linspace(-6, 6, 500)
    out = cal(grid)
    assert out.min() == 0.0 and out.max() == 1.0
    assert (np.diff(out) >= 0).all()
    assert cal(np.array([np.median(raw)]))[0] == pytest.approx(0.5, abs=0.01)
    assert roc_auc_score(raw > 1, cal(raw)) == pytest.approx(roc_auc_score(raw > 1, raw))


def test_stacker_out_of_fold_scores_differ_from_in_sample(scored) -> None:
    y, s = scored
    rng = np.random.default_rng(1)
    base = np.column_stack([s, np.clip(s + rng.normal(0, 0.1, s.size), 0, 1), rng.random(s.size)])
    stacker, oof = fit_stacker(("a", "b", "c"), base, y)
    full = stacker(base)
    assert oof.shape == full.shape and ((oof >= 0) & (oof <= 1)).all()
    assert not np.allclose(oof, full)
    assert average_precision_score(y, full) > 0.5


def test_fast_forest_scores_match_sklearn() -> None:
    """Leaf-table forest scoring equals scikit-learn's own functions (to rounding), at any thread count."""
    from sklearn.ensemble import IsolationForest, RandomForestClassifier

    from fraudguard.models.leaves import IsolationLeaves, RandomForestLeaves

    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 6)).astype(np.float32)
    y = (x[:, 0] + rng.normal(0, 0.5, 3000) > 1).astype(int)
    rf = RandomForestClassifier(n_estimators=9, max_depth=6, class_weight="balanced_subsample", random_state=0).fit(
        x, y
    )
    leaves = RandomForestLeaves.of(rf)
    np.testing.assert_allclose(leaves.proba(x, 1), rf.predict_proba(x)[:, 1], rtol=1e-12)
    np.testing.assert_array_equal(leaves.proba(x, 2), leaves.proba(x, 1))
    np.testing.assert_array_equal(leaves.proba(x[7:8], 1), leaves.proba(x, 2)[7:8])
    for max_features in (1.0, 0.5):
        iforest = IsolationForest(n_estimators=11, max_features=max_features, random_state=0).fit(x)
        paths = IsolationLeaves.of(iforest)
        np.testing.assert_allclose(paths.anomaly(x, 1), -iforest.score_samples(x), rtol=1e-12)
        np.testing.assert_array_equal(paths.anomaly(x, 2), paths.anomaly(x, 1))
    with pytest.raises(ModelError, match="float32"):
        leaves.proba(x.astype(np.float64))
