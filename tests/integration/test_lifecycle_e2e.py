"""Retrain -> challenger -> gated promote -> rollback, end to end through the embedded broker and PostgreSQL.

The engine scores generated transactions (writing its transaction history, predictions
and shadow scores); analyst labels go to PostgreSQL; ``retrain_once`` trains on that
history with the labels winning, registers a challenger and its evaluation. The gate
then promotes it (the running engine switches at a batch boundary and keeps its feature
state), ``rollback`` brings the champion back, and a challenger trained on corrupted
labels is refused by the gate.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest

from fraudguard import schema
from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame
from fraudguard.io import pg_queries
from fraudguard.io.retrain_io import retrain_once
from fraudguard.models import lifecycle
from fraudguard.models.estimators import TrainConfig
from fraudguard.models.registry import current_version
from fraudguard.models.retrain import RetrainPlan
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values

pytestmark = pytest.mark.integration
N = 16_000
SMALL = TrainConfig(xgb_trees=20, xgb_depth=4, rf_trees=10, rf_depth=6, if_trees=10, threads=2)
PLAN = RetrainPlan(eval_fraction=0.3)


def _stream(env: EngineEnv, frame, engine) -> None:
    values, keys = encode_frame(frame)
    before = pg_count(env.database_url, "SELECT count(*) FROM fraud_predictions")
    publish_values(env.bootstrap, env.settings.topic_transactions, values, keys)
    deadline = time.monotonic() + 180
    while pg_count(env.database_url, "SELECT count(*) FROM fraud_predictions") < before + len(frame):
        assert time.monotonic() < deadline, "engine did not score the batch in time"
        time.sleep(0.3)


def _label(env: EngineEnv, ids, values, source: str = "analyst") -> None:
    labels = [schema.Label(transaction_id=t, is_fraud=bool(v), source=source) for t, v in zip(ids, values, strict=True)]
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        pg_queries.record_labels(conn, labels)


def _versions(env: EngineEnv) -> dict[str, int]:
    with psycopg.connect(env.database_url) as conn:
        return dict(conn.execute("SELECT model_version, count(*) FROM fraud_predictions GROUP BY 1").fetchall())


def test_retrain_promote_rollback_end_to_end(engine_env: EngineEnv, caplog):
    s = engine_env.settings
    champion = current_version(s.models_dir)
    frame = generate_frame(N + 2000, fraud_rate=0.03, seed=21)
    history, later = frame.iloc[:N], frame.iloc[N:]
    stop = threading.Event()
    engine = build_engine(
        s,
        EngineOptions(batch_size=1000, max_wait_ms=50, model_check_s=0.1),
        database_url=engine_env.database_url,
        stop=stop,
    )
    worker = threading.Thread(target=engine.run, daemon=True)
    worker.start()
    try:
        _stream(engine_env, history, engine)
        # analyst feedback: 200 transactions relabelled (labels win over the carried truth)
        some = history.iloc[:200]
        _label(engine_env, some["transaction_id"], 1 - some["is_fraud"])

        report = retrain_once(s, PLAN, database_url=engine_env.database_url, cfg=SMALL)
        challenger = report["challenger"]
        assert report["label_sources"]["label"] == 200
        assert report["training_rows"] + report["labelled"] == N
        assert lifecycle.read_roles(s.models_dir).challengers == [challenger]
        assert set(report["pr_auc"]) == {champion, challenger}
        assert current_version(s.models_dir) == champion  # registering never promotes

        with caplog.at_level(logging.WARNING):
            entry = lifecycle.promote(s.models_dir, challenger, actor="test", margin=1.0)  # the flow; the gate: below
            assert entry["forced"] is False and entry["gate"]["passed"]
            _stream(engine_env, later.iloc[:1000], engine)
        assert _versions(engine_env).get(challenger, 0) > 0
        assert "feature state starts over" not in caplog.text  # same feature configuration: state kept

        lifecycle.rollback(s.models_dir, actor="test")
        assert current_version(s.models_dir) == champion
        time.sleep(0.3)  # let the watcher's check interval pass
        _stream(engine_env, later.iloc[1000:], engine)
    finally:
        stop.set()
        worker.join(60)
    counts = _versions(engine_env)
    assert counts[champion] >= N and counts[challenger] >= 1 and sum(counts.values()) == N + 2000
    actions = [e["action"] for e in lifecycle.read_audit(s.models_dir)]
    assert actions == ["challenger", "promote", "rollback"]


def test_gate_refuses_a_challenger_trained_on_corrupted_labels(engine_env: EngineEnv):
    s = engine_env.settings
    champion = current_version(s.models_dir)
    frame = generate_frame(N, fraud_rate=0.03, seed=22)
    engine = build_engine(
        s, EngineOptions(batch_size=2000, max_wait_ms=50), database_url=engine_env.database_url, stop=threading.Event()
    )
    values, keys = encode_frame(frame)
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)
    engine.run(max_messages=N)
    train_part = frame.sort_values("event_time").iloc[: int(N * 0.6)]
    _label(
        engine_env, train_part["transaction_id"], 1 - train_part["is_fraud"], source="bad-feed"
    )  # every label inverted

    report = retrain_once(s, PLAN, database_url=engine_env.database_url, cfg=SMALL)
    challenger = report["challenger"]
    assert report["pr_auc"][challenger] < report["pr_auc"][champion] - 0.1
    with pytest.raises(lifecycle.PromotionRefused, match="worse than the margin"):
        lifecycle.promote(s.models_dir, challenger, actor="test", margin=0.02)
    assert current_version(s.models_dir) == champion
    forced = lifecycle.promote(s.models_dir, challenger, actor="test", force=True)
    assert forced["forced"] is True and current_version(s.models_dir) == challenger
