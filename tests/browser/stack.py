"""The real FraudGuard stack for browser tests: a tiny trained model, `fraudguard api`, `fraudguard stream`.

Both servers run as subprocesses of the test session (the commands a user runs), wired to
the session's broker and PostgreSQL through environment variables, with topic names and a
consumer group unique to the session. Their output goes to log files that are printed
when a process fails to start, so a broken stack explains itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd

from fraudguard.io.broker import free_port

TINY = {"xgb_trees": 30, "xgb_depth": 4, "rf_trees": 15, "rf_depth": 8, "if_trees": 20, "threads": 1}
"""Hyper-parameters of the test model: trains in about a second, scores like the real one."""


def train_tiny_model(registry: Path, *, rows: int = 8_000, fraud_rate: float = 0.05, seed: int = 11) -> str:
    """Generate labelled synthetic transactions, train every model small, register; return the version."""
    from fraudguard.generator.generation import GeneratorConfig, chunk_iter
    from fraudguard.models.estimators import TrainConfig
    from fraudguard.models.trainer import train_and_register

    config = GeneratorConfig(fraud_rate=fraud_rate, seed=seed, customers=2000, merchants=2000)
    frame = pd.concat([c.to_frame() for c in chunk_iter(rows, config)], ignore_index=True)
    source = {"path": "generated-in-test", "format": "frame", "sha256": f"seed-{seed}-rows-{rows}"}
    version, _ = train_and_register(frame, registry, source=source, cfg=TrainConfig(**TINY))
    return version


@dataclass
class Proc:
    """A started command, its log file, and how to stop it (only this process group)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def start(name: str, args: list[str], env: Mapping[str, str], logs: Path) -> Proc:
    """Run ``fraudguard <args>`` with the venv's interpreter, in its own process group."""
    log = logs / f"{name}.log"
    out = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "fraudguard", *args],
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    return Proc(name, popen, log)


@dataclass
class Stack:
    """What the tests talk to."""

    base_url: str
    api_key: str
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.api_key}, timeout=15.0)

    def check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}:\n{p.tail()}")


def stack_env(state_dir: Path, bootstrap: str, database_url: str, api_key: str, port: int) -> dict[str, str]:
    """Environment of both servers: session-unique topics and group, the test's key and model."""
    suffix = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDGUARD_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "FRAUDGUARD_DATABASE_URL": database_url,
            "FRAUDGUARD_STATE_DIR": str(state_dir),
            "FRAUDGUARD_API_KEYS": api_key,
            "FRAUDGUARD_API_PORT": str(port),
            "FRAUDGUARD_TOPIC_TRANSACTIONS": f"transactions-{suffix}",
            "FRAUDGUARD_TOPIC_PREDICTIONS": f"predictions-{suffix}",
            "FRAUDGUARD_TOPIC_ALERTS": f"alerts-{suffix}",
            "FRAUDGUARD_TOPIC_LABELS": f"labels-{suffix}",
            "FRAUDGUARD_TOPIC_DLQ": f"dlq-{suffix}",
            "FRAUDGUARD_TOPIC_PARTITIONS": "2",
            "FRAUDGUARD_CONSUMER_GROUP": f"engine-{suffix}",
            "FRAUDGUARD_BATCH_MAX_WAIT_MS": "100",
            "FRAUDGUARD_METRICS_EVERY": "10",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def wait_ready(stack: Stack, path: str = "/readyz", timeout: float = 60.0) -> None:
    """Poll until ``path`` answers 200; fail with the servers' logs otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(base_url=stack.base_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            stack.check_alive()
            try:
                r = client.get(path)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:300]}"
            except httpx.TransportError as e:
                last = repr(e)
            time.sleep(0.3)
    logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in stack.procs)
    raise RuntimeError(f"{path} not ready after {timeout:.0f} s: {last}\n{logs}")


def launch(state_dir: Path, bootstrap: str, database_url: str, logs: Path) -> Stack:
    """Start the API, wait for /readyz, then start the engine (the API creates topics and tables)."""
    port = free_port()
    api_key = "fg_test_" + uuid.uuid4().hex
    env = stack_env(state_dir, bootstrap, database_url, api_key, port)
    stack = Stack(base_url=f"http://127.0.0.1:{port}", api_key=api_key, env=env)
    stack.procs.append(start("api", ["api", "--log-level", "warning"], env, logs))
    try:
        wait_ready(stack)
        stack.procs.append(start("engine", ["stream", "--status-every", "30"], env, logs))
        time.sleep(0.5)
        stack.check_alive()
    except BaseException:
        for p in reversed(stack.procs):
            p.stop()
        raise
    return stack
