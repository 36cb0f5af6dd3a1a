"""The metrics tracker keeps per-version metrics from the real broker: champion from predictions, challenger from shadow scores."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, recall_score

from fraudguard import schema
from fraudguard.io.challenger_sinks import encode_challenger_rows
from fraudguard.io.metrics_consumer import MetricsTracker
from fraudguard.metrics.online import OnlineMetrics
from fraudguard.metrics.versions import VersionMetrics
from fraudguard.records import encode_predictions
from tests.fixtures.engine import publish_values
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration
N = 1500


def test_tracker_per_version_metrics_match_sklearn(kafka_bootstrap, topic_factory):
    preds_t, labels_t, shadow_t = topic_factory("pred", 2), topic_factory("labels", 1), topic_factory("shadow", 2)
    preds = prediction_frame(N, seed=5, model_version="vchamp")
    rng = np.random.default_rng(1)
    truth = preds["is_fraud"].to_numpy().copy()
    unknown = np.isnan(truth)
    late = (rng.random(N) < 0.2).astype(float)  # labels for the rows without carried truth
    truth[unknown] = late[unknown]
    challenger_score = np.clip(
        preds["ensemble_score"].to_numpy() * 0.5 + 0.5 * np.nan_to_num(truth) * rng.random(N), 0, 1
    )
    shadow = preds[["transaction_id", "event_time", "is_fraud", "scored_at"]].assign(
        model_version="vchall",
        champion_version="vchamp",
        score=challenger_score,
        threshold=0.4,
        decision=np.where(challenger_score >= 0.4, "fraud", "legit"),
        champion_score=preds["ensemble_score"],
        champion_decision=preds["decision"],
    )
    publish_values(kafka_bootstrap, preds_t, encode_predictions(preds))
    publish_values(kafka_bootstrap, shadow_t, encode_challenger_rows(shadow))
    labels = [
        schema.Label(transaction_id=t, is_fraud=bool(v), source="analyst")
        for t, v in zip(preds["transaction_id"][unknown], late[unknown], strict=True)
    ]
    publish_values(kafka_bootstrap, labels_t, [schema.encode(x) for x in labels])

    versions = VersionMetrics(window_size=N)
    tracker = MetricsTracker(
        kafka_bootstrap,
        OnlineMetrics(),
        predictions_topic=preds_t,
        labels_topic=labels_t,
        versions=versions,
        challengers_topic=shadow_t,
        refresh_s=0.2,
    ).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            snap = tracker.snapshot()["versions"]
            if all(
                snap.get(v, {}).get("windows", {}).get("cumulative", {}).get("labelled") == N
                for v in ("vchamp", "vchall")
            ):
                break
            time.sleep(0.2)
    finally:
        tracker.stop()
    assert tracker.error is None
    assert snap["vchamp"]["role"] == "champion" and snap["vchall"]["role"] == "challenger"
    y = truth.astype(int)
    for version, scores, thr in (
        ("vchamp", preds["ensemble_score"].to_numpy(), 0.8),
        ("vchall", challenger_score, 0.4),
    ):
        w = snap[version]["windows"][f"last_{N}"]
        assert w["labelled"] == N
        assert w["pr_auc"] == pytest.approx(average_precision_score(y, scores), abs=1e-12)
        assert w["recall"] == pytest.approx(recall_score(y, (scores >= thr).astype(int)))
