"""``fraudguard broker --kafka``: a real Apache Kafka in the foreground, topics created,
data kept across a restart, a clean stop that leaves no JVM behind; and clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from confluent_kafka.admin import AdminClient

from fraudguard.io.broker import free_port
from tests.fixtures.broker import kafka_lib_or_skip

pytestmark = pytest.mark.integration


def _run_broker(state, port: int) -> tuple[str, list[int]]:
    """Start the CLI, wait for "Kafka ready", return its output so far and its JVM pids; then stop it."""
    env = {**os.environ, "FRAUDGUARD_STATE_DIR": str(state), "COLUMNS": "300"}
    argv = [sys.executable, "-m", "fraudguard", "broker", "--kafka", "--port", str(port), "--partitions", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if line.startswith("use it with"):
                break
        out = "".join(lines)
        assert "Kafka ready" in out, out
        jvms = [c.pid for c in psutil.Process(proc.pid).children(recursive=True) if "java" in c.name()]
        md = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=10)
        assert {"transactions", "predictions", "fraud_alerts", "labels", "transactions_dlq"} <= set(md.topics)
        assert len(md.topics["transactions"].partitions) == 2
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 0, out + rest
        return out + rest, jvms
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_broker_kafka_starts_keeps_data_and_stops_cleanly(tmp_path):
    kafka_lib_or_skip()
    first, jvms = _run_broker(tmp_path, free_port())
    assert "created 5" in first and "Kafka stopped" in first
    assert jvms and not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in jvms)
    second, _ = _run_broker(tmp_path, free_port())  # same storage: the topics are still there
    assert "created 0" in second


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["broker", "--brokers", "3"], "--brokers needs --kafka"),
        (["stream", "--engine", "spark", "--exactly-once"], "--exactly-once is for the local engine"),
    ],
)
def test_bad_flag_combinations_are_one_line_errors(argv, message):
    res = subprocess.run([sys.executable, "-m", "fraudguard", *argv], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert message in res.stderr + res.stdout
