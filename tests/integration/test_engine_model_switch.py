"""When ``CURRENT`` moves, the engine switches models between two batches, never inside one."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from fraudguard.generator import generate_frame
from fraudguard.models.registry import current_version, write_current
from tests.fixtures.engine import EngineEnv, encode_frame, local_engine, pg_count, publish_values, running, wait_rows

pytestmark = pytest.mark.integration

N = 4_000
NEW = "v20990101-000000-0badcafe"


def test_current_pointer_change_switches_model_at_a_batch_boundary(engine_env: EngineEnv):
    s = engine_env.settings
    old = current_version(s.models_dir)
    shutil.copytree(s.models_dir / old, s.models_dir / NEW)
    frame = generate_frame(N, seed=55)
    values, keys = encode_frame(frame)

    engine = local_engine(engine_env, batch_size=200, max_wait_ms=50, model_check_s=0.1)
    url = engine_env.database_url
    with running(engine, N) as run:
        publish_values(engine_env.bootstrap, s.topic_transactions, values[: N // 2], keys[: N // 2])
        wait_rows(url, N // 2)
        write_current(s.models_dir, NEW)
        publish_values(engine_env.bootstrap, s.topic_transactions, values[N // 2 :], keys[N // 2 :])
        run.join(120)

    stats = run.stats
    assert stats.model_switches == 1
    assert stats.model_version == NEW
    rows = {v: pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE model_version = '{v}'") for v in (old, NEW)}
    assert rows[old] >= N // 2 and rows[NEW] > 0 and rows[old] + rows[NEW] == N
    for path in s.parquet_dir.rglob("*.parquet"):
        versions = set(pq.read_table(path, columns=["model_version"])["model_version"].to_pylist())
        assert len(versions) == 1, f"batch file {path.name} mixes models {versions}"
