"""Rules change while the engine runs: picked up at a batch boundary, never inside a batch."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from fraudguard.generator import generate_frame
from fraudguard.io import pg_rules
from fraudguard.io.postgres import connect
from tests.fixtures.engine import EngineEnv, encode_frame, local_engine, pg_count, publish_values, running, wait_rows

pytestmark = pytest.mark.integration

N = 3_000


def test_rule_activated_mid_stream_decides_from_the_next_batch(engine_env: EngineEnv):
    s = engine_env.settings
    values, keys = encode_frame(generate_frame(N, seed=56))
    engine = local_engine(engine_env, batch_size=200, max_wait_ms=50, rules_check_s=0)
    url = engine_env.database_url
    with running(engine, N) as run:
        publish_values(engine_env.bootstrap, s.topic_transactions, values[: N // 2], keys[: N // 2])
        wait_rows(url, N // 2)
        with connect(url, autocommit=True) as conn:
            shadow = pg_rules.create_rule(  # first: every batch the block rule decides also has it
                conn,
                {"name": "shadow", "condition": "card_count_1h >= 0", "action": "allow", "state": "shadow"},
                actor="t",
            )
            block = pg_rules.create_rule(
                conn, {"name": "all", "condition": "amount >= 0", "action": "block", "state": "active"}, actor="t"
            )
        publish_values(engine_env.bootstrap, s.topic_transactions, values[N // 2 :], keys[N // 2 :])
        run.join(120)

    assert engine.processor.rule_reloads >= 1
    ruled = pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE rule_ids = ARRAY['{block['id']}']")
    before = pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE rule_ids = '{}'")
    assert ruled >= N // 2 and before >= N // 2 and ruled + before == N
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE rule_ids <> '{}' AND decision <> 'fraud'") == 0
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE rule_action = 'block'") == ruled
    shadowed = pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE shadow_rule_ids = ARRAY['{shadow['id']}']")
    assert shadowed >= ruled  # recorded, deciding nothing (an allow rule would have made rows legit)
    assert (
        pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE rule_ids <> '{}' AND shadow_rule_ids = '{}'") == 0
    )
    for path in s.parquet_dir.rglob("*.parquet"):
        ids = pq.read_table(path, columns=["rule_ids"])["rule_ids"].to_pylist()
        assert len({tuple(i) for i in ids}) == 1, f"batch file {path.name} mixes rule sets"
