"""Online metrics against scikit-learn computed independently on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, precision_score, recall_score

from fraudguard.metrics.core import MODELS, average_precision, binned_average_precision, histograms
from fraudguard.metrics.online import OnlineMetrics, PredictionBatch
from fraudguard.metrics.prometheus import exposition, make_registry


def make_batch(n: int, seed: int, start: int = 0, unknown: float = 0.2) -> PredictionBatch:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(np.float64)
    scores = np.clip(rng.normal(0.3 + 0.4 * y[:, None], 0.2, (n, 4)), 0, 1)
    truth = y.copy()
    truth[rng.random(n) < unknown] = np.nan
    return PredictionBatch(
        ids=np.array([f"t{start + i}" for i in range(n)], dtype=object),
        scores=scores,
        threshold=np.full(n, 0.5),
        truth=truth,
        latency_s=rng.exponential(0.05, n),
    )


def sk_view(truth: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> dict[str, dict[str, float]]:
    known = ~np.isnan(truth)
    y = truth[known].astype(int)
    out = {}
    for j, name in enumerate(MODELS):
        pred = (scores[known, j] >= thresholds[j]).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        out[name] = {
            "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "precision": precision_score(y, pred), "recall": recall_score(y, pred), "f1": f1_score(y, pred),
            "pr_auc": average_precision_score(y, scores[known, j]),
        }  # fmt: skip
    return out


def check(view: dict, expected: dict, pr_auc_tol: float = 1e-12) -> None:
    for name in MODELS:
        got, exp = view["models"][name], expected[name]
        assert [got[c] for c in ("tp", "fp", "tn", "fn")] == [int(exp[c]) for c in ("tp", "fp", "tn", "fn")], name
        for k in ("precision", "recall", "f1"):
            assert got[k] == pytest.approx(exp[k]), (name, k)
        assert got["pr_auc"] == pytest.approx(exp["pr_auc"], abs=pr_auc_tol), name


def test_exact_average_precision_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.2).astype(float)
    s = np.round(rng.random(500), 1)  # many ties
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    pos, neg = histograms(y, s[:, None], 10_000)
    assert binned_average_precision(pos[0], neg[0]) == pytest.approx(average_precision_score(y, s), abs=1e-9)


def test_cumulative_and_windows_match_sklearn_with_own_thresholds() -> None:
    clock = [1000.0]
    m = OnlineMetrics({"xgboost": 0.4, "random_forest": 0.6}, window_size=1000, capacity=5000, clock=lambda: clock[0])
    batches = [make_batch(700, seed=i, start=700 * i) for i in range(4)]
    for b in batches:
        m.update(b)
        clock[0] += 100.0
    m.refresh(now=clock[0] - 50.0)  # arrivals at 1000..1300, window from 1050
    truth = np.concatenate([b.truth for b in batches])
    scores = np.concatenate([b.scores for b in batches])
    thr = np.array([0.4, 0.6, 0.5, 0.5])
    windows = m.latest["windows"]
    check(windows["cumulative"], sk_view(truth, scores, thr), pr_auc_tol=5e-3)
    check(windows["last_1000"], sk_view(truth[-1000:], scores[-1000:], thr))
    # the 5-minute window holds the batches that arrived at t-300 or later: the last three
    check(windows["last_5m"], sk_view(truth[700:], scores[700:], thr))
    assert windows["cumulative"]["transactions"] == 2800


def test_late_labels_override_truth_and_replays_are_not_counted_twice() -> None:
    m = OnlineMetrics(capacity=2000, snapshot_every=1)
    b = make_batch(1000, seed=7)
    m.update(b)
    m.update(b)  # replay of the same predictions
    flip = np.arange(0, 1000, 3)
    new = 1.0 - np.nan_to_num(b.truth[flip], nan=0.0)
    assert m.apply_labels(list(b.ids[flip]), new) == len(flip)
    early = m.apply_labels(["later-0"], np.array([1.0]))  # label before its prediction
    assert early == 0
    truth = b.truth.copy()
    truth[flip] = new
    later = PredictionBatch(
        np.array(["later-0"], dtype=object),
        np.full((1, 4), 0.9),
        np.array([0.5]),
        np.array([np.nan]),
        np.array([np.nan]),
    )
    m.update(later)
    m.refresh()
    truth = np.r_[truth, 1.0]
    scores = np.r_[b.scores, later.scores]
    check(m.latest["windows"]["cumulative"], sk_view(truth, scores, np.full(4, 0.5)), pr_auc_tol=5e-3)
    assert m.latest["windows"]["cumulative"]["transactions"] == 1001
    assert m.latest["labels_pending"] == 0


def test_ring_eviction_keeps_cumulative_counts() -> None:
    m = OnlineMetrics(window_size=100, capacity=300)
    batches = [make_batch(250, seed=i, start=250 * i, unknown=0.0) for i in range(3)]
    for b in batches:
        m.update(b)
    m.refresh()
    truth = np.concatenate([b.truth for b in batches])
    scores = np.concatenate([b.scores for b in batches])
    check(m.latest["windows"]["cumulative"], sk_view(truth, scores, np.full(4, 0.5)), pr_auc_tol=5e-3)
    check(m.latest["windows"]["last_100"], sk_view(truth[-100:], scores[-100:], np.full(4, 0.5)))
    assert m.apply_labels(["t0"], np.array([1.0])) == 0  # evicted: too old to correct


def test_latency_percentiles_and_prometheus_exposition() -> None:
    m = OnlineMetrics(snapshot_every=1)
    b = make_batch(400, seed=1)
    m.update(b)
    lat = m.latest["latency_s"]
    assert lat["p50"] == pytest.approx(np.percentile(b.latency_s, 50))
    assert lat["max"] == pytest.approx(b.latency_s.max())
    text = exposition(make_registry(lambda: {**m.latest, "lag": {"predictions": 5}})).decode()
    tp = m.latest["windows"]["cumulative"]["models"]["xgboost"]["tp"]
    assert f'fraudguard_confusion{{cell="tp",model="xgboost",window="cumulative"}} {float(tp)}' in text
    assert 'fraudguard_consumer_lag{topic="predictions"} 5.0' in text
