"""Drift end to end: engine counts features and scores in the card's bins, the tracker computes PSI and alerts.

The model was trained on ``generate_frame(20_000, fraud_rate=0.03, seed=11)``. Streaming
that same history is a steady stream; the same run with the generator's ``--drift amount:6``
(amounts ramping up to six times by the end) is a shifted one. The topics have one partition so the engine sees the
transactions in event-time order, as training did (with several partitions, merchant
windows see other partitions' events late, which itself shows as merchant-feature drift).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from fraudguard.config import isolated_names
from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame, parse_drift
from fraudguard.io.metrics_consumer import MetricsTracker
from fraudguard.io.sinks.challenger import drift_topic
from fraudguard.metrics.drift_feed import DriftFeed, card_reference
from fraudguard.metrics.online import OnlineMetrics
from tests.fixtures.engine import EngineEnv, encode_frame, publish_values

pytestmark = pytest.mark.integration
N = 20_000


def stream_and_watch(env: EngineEnv, frame) -> dict:
    s = env.settings.model_copy(update={**isolated_names(uuid.uuid4().hex[:8]), "topic_partitions": 1})
    engine = build_engine(
        s, EngineOptions(batch_size=2000, max_wait_ms=50), database_url=env.database_url, stop=threading.Event()
    )
    values, keys = encode_frame(frame)
    publish_values(env.bootstrap, s.topic_transactions, values, keys)
    engine.run(max_messages=len(frame))
    feed = DriftFeed(card_reference(s.models_dir))
    tracker = MetricsTracker(
        env.bootstrap,
        OnlineMetrics(),
        predictions_topic=s.topic_predictions,
        labels_topic=s.topic_labels,
        drift=feed,
        drift_topic=drift_topic(s.topic_predictions),
        refresh_s=0.2,
    ).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            drift = tracker.snapshot()["drift"]
            if drift["windows"] and tracker.lag.get("drift", 1) == 0:
                break
            time.sleep(0.3)
    finally:
        tracker.stop()
    assert tracker.error is None
    return tracker.snapshot()["drift"]


def test_steady_stream_raises_no_drift_alert(engine_env: EngineEnv):
    frame = generate_frame(N, fraud_rate=0.03, seed=11)
    drift = stream_and_watch(engine_env, frame)
    assert drift["windows"]["last_1d"]["transactions"] > 500
    # the engine started on empty in-process state and said so: alerts wait the card's warm-up
    first = frame["event_time"].min().timestamp()
    assert first + 3600 < drift["warm_from"] <= first + 86400 and not drift["warming_up"]
    assert not drift["alert"], drift["reasons"]
    assert drift["events"] == []


def test_shifted_stream_raises_a_drift_alert_event(engine_env: EngineEnv):
    frame = generate_frame(N, fraud_rate=0.03, seed=11, drift=(parse_drift("amount:6"),))
    drift = stream_and_watch(engine_env, frame)
    assert drift["alert"], drift["windows"]["last_1d"]["psi"][:5]
    assert drift["events"][-1]["kind"] == "drift_alert"
    assert any("amount" in r for r in drift["reasons"]), drift["reasons"]
