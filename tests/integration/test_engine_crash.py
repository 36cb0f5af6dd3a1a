"""kill -9 of the engine process mid-stream, then restart: nothing missing, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from fraudguard.generator import generate_frame
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, wait_for

pytestmark = pytest.mark.integration

N = 12_000


def _start(env: EngineEnv, log) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "fraudguard",
        "stream",
        "--batch-size",
        "500",
        "--max-wait-ms",
        "100",
        "--status-every",
        "1",
    ]
    return subprocess.Popen(
        argv, env={**os.environ, **env.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def test_kill_9_mid_stream_then_restart_loses_and_duplicates_nothing(engine_env: EngineEnv, tmp_path):
    s = engine_env.settings
    frame = generate_frame(N, seed=33)
    values, keys = encode_frame(frame)
    publish_values(engine_env.bootstrap, s.topic_transactions, values, keys)
    url = engine_env.database_url
    count = lambda: pg_count(url, "SELECT count(*) FROM fraud_predictions")  # noqa: E731

    with open(tmp_path / "engine.log", "ab") as log:
        first = _start(engine_env, log)
        try:
            wait_for(lambda: count() >= 2_000 or first.poll() is not None, 120, "the first engine to score 2,000")
            assert first.poll() is None, (tmp_path / "engine.log").read_text()[-3000:]
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
        at_kill = count()
        assert at_kill < N, "the engine finished before it could be killed; raise N"

        second = _start(engine_env, log)
        try:
            wait_for(lambda: count() >= N or second.poll() is not None, 180, "the restarted engine to catch up")
            assert second.poll() is None, (tmp_path / "engine.log").read_text()[-3000:]
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0, (tmp_path / "engine.log").read_text()[-3000:]
        finally:
            if second.poll() is None:
                os.killpg(second.pid, signal.SIGKILL)

    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == N
    assert pg_count(url, "SELECT count(DISTINCT transaction_id) FROM fraud_predictions") == N
    ids = set(frame["transaction_id"])
    table = ds.dataset(s.parquet_dir, format="parquet", partitioning="hive").to_table(columns=["transaction_id"])
    parquet_ids = table["transaction_id"].to_pylist()
    assert set(parquet_ids) == ids, "Parquet holds every transaction (after de-duplication)"
    assert len(parquet_ids) >= N
