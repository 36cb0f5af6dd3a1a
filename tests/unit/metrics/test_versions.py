"""Per-version metrics (champion and challengers) equal scikit-learn's on the same late labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from fraudguard.metrics.online import PredictionBatch
from fraudguard.metrics.versions import VersionMetrics

N = 2500


def sk(truth: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    known = ~np.isnan(truth)
    y, s = truth[known].astype(int), scores[known]
    pred = (s >= threshold).astype(int)
    return {
        "precision": precision_score(y, pred),
        "recall": recall_score(y, pred),
        "f1": f1_score(y, pred),
        "pr_auc": average_precision_score(y, s),
        "tp": int(((pred == 1) & (y == 1)).sum()),
        "fp": int(((pred == 1) & (y == 0)).sum()),
    }


def check(view: dict, expected: dict, pr_auc_tol: float) -> None:
    assert view["tp"] == expected["tp"] and view["fp"] == expected["fp"]
    for k in ("precision", "recall", "f1"):
        assert view[k] == pytest.approx(expected[k])
    assert view["pr_auc"] == pytest.approx(expected["pr_auc"], abs=pr_auc_tol)


def test_champion_and_challenger_metrics_match_sklearn_after_late_labels():
    rng = np.random.default_rng(7)
    y = (rng.random(N) < 0.08).astype(np.float64)
    champ = np.clip(rng.normal(0.3 + 0.35 * y, 0.2), 0, 1)
    chall = np.clip(rng.normal(0.3 + 0.15 * y, 0.2), 0, 1)  # a weaker challenger
    ids = np.array([f"t{i}" for i in range(N)], dtype=object)
    carried = y.copy()
    carried[rng.random(N) < 0.5] = np.nan  # half the truth arrives late, as labels
    clock = [1000.0]
    vm = VersionMetrics(window_seconds=300, clock=lambda: clock[0])
    for start in range(0, N, 500):  # 5 batches, 100 s apart: the 5-minute window holds the last 3
        part = slice(start, start + 500)
        batch = PredictionBatch(
            ids[part], np.repeat(champ[part, None], 4, 1), np.full(500, 0.5), carried[part], np.zeros(500)
        )
        vm.update_grouped(np.full(500, "vA", dtype=object), batch, champion=True)
        vm.update("vB", ids[part], chall[part], np.full(500, 0.4), carried[part])
        clock[0] += 100
    late = np.isnan(carried)
    flipped = rng.random(N) < 0.02  # analyst labels overriding nothing known: truth becomes the label
    vm.apply_labels(list(ids[late]), y[late])
    vm.apply_labels(list(ids[flipped & ~late]), 1 - y[flipped & ~late])
    truth = y.copy()
    truth[flipped & ~late] = 1 - y[flipped & ~late]

    out = vm.compute()
    assert out["vA"]["role"] == "champion" and out["vB"]["role"] == "challenger"
    for version, scores, thr in (("vA", champ, 0.5), ("vB", chall, 0.4)):
        w = out[version]["windows"]
        check(w["last_1000"], sk(truth[-1000:], scores[-1000:], thr), 1e-12)
        check(w["last_5m"], sk(truth[-1500:], scores[-1500:], thr), 1e-12)
        check(w["cumulative"], sk(truth, scores, thr), 5e-3)
        assert w["cumulative"]["labelled"] == N
    assert out["vA"]["windows"]["cumulative"]["pr_auc"] > out["vB"]["windows"]["cumulative"]["pr_auc"]


def test_replayed_rows_are_not_counted_twice_and_old_versions_drop_out():
    vm = VersionMetrics(max_versions=2)
    ids = np.array(["a", "b"], dtype=object)
    for _ in range(2):
        vm.update("v1", ids, np.array([0.9, 0.1]), np.full(2, 0.5), np.array([1.0, 0.0]))
    assert vm.compute()["v1"]["windows"]["cumulative"]["transactions"] == 2
    vm.update("v2", ids, np.array([0.2, 0.1]), np.full(2, 0.5), np.array([1.0, 0.0]))
    vm.update("v3", ids, np.array([0.2, 0.1]), np.full(2, 0.5), np.array([1.0, 0.0]))
    assert list(vm.compute()) == ["v2", "v3"]


def test_label_before_a_version_is_first_seen_still_counts():
    vm = VersionMetrics()
    vm.apply_labels(["a"], np.array([1.0]))
    vm.update(
        "late", np.array(["a", "b"], dtype=object), np.array([0.9, 0.1]), np.full(2, 0.5), np.array([np.nan, 0.0])
    )
    cum = vm.compute()["late"]["windows"]["cumulative"]
    assert cum["labelled"] == 2 and cum["tp"] == 1 and cum["tn"] == 1
