"""A challenger is scored on every transaction, recorded in its own table, Parquet and topic, and never decides.

The challenger is the champion's models with an ensemble threshold of 0: it would flag
every transaction. The prediction record must still carry only the champion's decisions.
"""

from __future__ import annotations

import json
import shutil
import threading

import msgspec
import pyarrow.dataset as ds
import pytest

from fraudguard.engines.local.runner import EngineOptions, build_engine
from fraudguard.generator import generate_frame
from fraudguard.io.sinks.challenger import challenger_parquet_dir, challenger_topic
from fraudguard.models import lifecycle
from fraudguard.models.registry import current_version
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, read_topic

pytestmark = pytest.mark.integration

N = 3_000
CHALLENGER = "v20990101-000000-0badcafe"


def make_flag_everything_challenger(root, champion: str) -> None:
    shutil.copytree(root / champion, root / CHALLENGER)
    card_path = root / CHALLENGER / "model_card.json"
    card = json.loads(card_path.read_text())
    ens = card["thresholds"]["ensemble"]
    ens[ens["used"]] = 0.0
    ens["value"] = 0.0
    card_path.write_text(json.dumps(card))
    lifecycle.add_challenger(root, CHALLENGER, actor="test")


def test_challenger_recorded_but_never_deciding(engine_env: EngineEnv):
    s = engine_env.settings
    champion = current_version(s.models_dir)
    make_flag_everything_challenger(s.models_dir, champion)
    values, keys = encode_frame(generate_frame(N, seed=71, fraud_rate=0.02))
    engine = build_engine(
        s, EngineOptions(batch_size=500, max_wait_ms=50), database_url=engine_env.database_url, stop=threading.Event()
    )
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)
    stats = engine.run(max_messages=N)
    assert stats.model_version == champion

    url = engine_env.database_url
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == N
    assert pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE model_version <> '{champion}'") == 0
    champion_alerts = pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE decision = 'fraud'")
    assert champion_alerts < N // 5  # the challenger would have flagged all N
    assert (
        pg_count(
            url, "SELECT count(*) FROM fraud_predictions WHERE (ensemble_score >= threshold) <> (decision = 'fraud')"
        )
        == 0
    )

    # every transaction shadow-scored once, all flagged by the challenger, champion columns copied faithfully
    assert pg_count(url, f"SELECT count(*) FROM fraud_challenger_scores WHERE model_version = '{CHALLENGER}'") == N
    assert pg_count(url, "SELECT count(*) FROM fraud_challenger_scores WHERE decision <> 'fraud'") == 0
    mismatched = """SELECT count(*) FROM fraud_challenger_scores c JOIN fraud_predictions p USING (transaction_id)
        WHERE c.champion_score <> p.ensemble_score OR c.champion_decision <> p.decision OR c.champion_version <> p.model_version
        OR abs(c.score - p.ensemble_score) > 1e-12"""  # same models, same features: same score, another threshold
    assert pg_count(url, mismatched) == 0

    table = ds.dataset(challenger_parquet_dir(s.state_dir), format="parquet", partitioning="hive").to_table()
    assert table.num_rows == N and set(table["model_version"].to_pylist()) == {CHALLENGER}
    messages = read_topic(engine_env.bootstrap, challenger_topic(s.topic_predictions))
    ids = {msgspec.json.decode(m.value())["transaction_id"] for m in messages}
    assert len(ids) == N


def test_retired_challenger_stops_being_scored(engine_env: EngineEnv):
    s = engine_env.settings
    champion = current_version(s.models_dir)
    make_flag_everything_challenger(s.models_dir, champion)
    lifecycle.remove_challenger(s.models_dir, CHALLENGER, actor="test")
    values, keys = encode_frame(generate_frame(500, seed=72))
    engine = build_engine(
        s, EngineOptions(batch_size=500, max_wait_ms=50), database_url=engine_env.database_url, stop=threading.Event()
    )
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)
    engine.run(max_messages=500)
    assert pg_count(engine_env.database_url, "SELECT count(*) FROM fraud_predictions") == 500
    assert pg_count(engine_env.database_url, "SELECT count(*) FROM fraud_challenger_scores") == 0
