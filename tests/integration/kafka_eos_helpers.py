"""Shared steps of the Apache Kafka exactly-once and failover tests: run ``fraudguard stream
--exactly-once`` as a child process, wait for it to score, and read a topic back under an
isolation level."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO

import msgspec
from confluent_kafka import TopicPartition

from fraudguard.io.kafka import make_consumer, partition_count
from tests.fixtures.engine import EngineEnv, pg_count, wait_for

ROWS = "SELECT count(*) FROM fraud_predictions"


def start_engine(
    env: EngineEnv, log: IO[bytes], *, exactly_once: bool = True, workers: int = 1
) -> subprocess.Popen[bytes]:
    """``fraudguard stream`` in its own process group, small batches so a kill lands mid-stream."""
    argv = [sys.executable, "-m", "fraudguard", "stream", "--batch-size", "500", "--max-wait-ms", "100"]
    argv += ["--workers", str(workers)]
    argv += ["--status-every", "1"] + (["--exactly-once"] if exactly_once else [])
    return subprocess.Popen(
        argv, env={**os.environ, **env.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_scored(
    env: EngineEnv,
    engine: subprocess.Popen[bytes],
    at_least: int,
    timeout: float,
    what: str,
    log_path: Path,
    *,
    alive: bool = True,
) -> None:
    """Wait until PostgreSQL holds ``at_least`` predictions or the engine exits; with ``alive``
    the engine must still be running then (the assertion shows the tail of its log)."""
    try:
        wait_for(lambda: pg_count(env.database_url, ROWS) >= at_least or engine.poll() is not None, timeout, what)
    except AssertionError as e:
        dump_stacks(engine)  # where a stuck engine waits, into its log
        raise AssertionError(f"{e}; engine log:\n{log_tail(log_path)}") from None
    if alive:
        assert engine.poll() is None, log_path.read_text()[-3000:]


def wait_committed(
    env: EngineEnv,
    engine: subprocess.Popen[bytes],
    topic: str,
    ids: set[str],
    timeout: float,
    log_path: Path,
) -> None:
    """Wait until a ``read_committed`` reader of ``topic`` sees every one of ``ids``.

    PostgreSQL is not part of the Kafka transaction: it can hold every row while a batch's
    transaction was aborted by a rebalance (the batch is read and produced again by the
    partition's next owner). Only the committed view says the engine is done; stopping it
    earlier leaves that replay to the next start.
    """

    def done() -> bool:
        return ids <= set(transaction_ids(env.bootstrap, topic, "read_committed", idle_s=0.5))

    try:
        wait_for(lambda: done() or engine.poll() is not None, timeout, f"every prediction committed on {topic!r}")
    except AssertionError as e:
        dump_stacks(engine)
        raise AssertionError(f"{e}; engine log:\n{log_tail(log_path)}") from None


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group: no flush, no commit, no abort."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def log_tail(log_path: os.PathLike[str], chars: int = 6000) -> str:
    return Path(log_path).read_text(encoding="utf-8", errors="replace")[-chars:]


def dump_stacks(proc: subprocess.Popen[bytes]) -> None:
    """Ask a running engine for every thread's stack (SIGUSR1: faulthandler writes to its log)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1.0)


def stop(proc: subprocess.Popen[bytes], log_path: os.PathLike[str]) -> None:
    """SIGTERM and require a clean exit (the last transaction committed).

    An engine that does not stop within 90 s first dumps its threads' stacks into the log,
    and the failure shows the log's tail: a hang is then diagnosable from the CI output.
    """
    try:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(90)
        except subprocess.TimeoutExpired:
            dump_stacks(proc)
            raise AssertionError(f"the engine did not stop within 90 s; its log:\n{log_tail(log_path)}") from None
        assert code == 0, log_tail(log_path, 3000)
    finally:
        if proc.poll() is None:
            kill9(proc)


def transaction_ids(bootstrap: str, topic: str, isolation: str, idle_s: float = 3.0) -> Counter[str]:
    """How often each ``transaction_id`` appears on ``topic`` to a reader with ``isolation.level``."""
    consumer = make_consumer(bootstrap, None, **{"isolation.level": isolation})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partition_count(bootstrap, topic))])
    seen: Counter[str] = Counter()
    try:
        while True:
            msgs = consumer.consume(10_000, timeout=idle_s)
            if not msgs:
                return seen
            for m in msgs:
                if m.error() is None:
                    seen[msgspec.json.decode(m.value())["transaction_id"]] += 1
    finally:
        consumer.close()
