"""The Spark engine the way clusters run it: a standalone Master and 2 Workers started from
pyspark's ``spark-class``, Spark's own Kafka connector (``spark.jars``), and the driver as
the real ``fraudguard stream --engine spark --master spark://...`` process.

One cluster serves the module (it costs seconds to start on two cores). The broker is
Apache Kafka (``apache_kafka``: the pinned jars of scripts/kafka_setup.sh), or the one
``KAFKA_BOOTSTRAP_SERVERS`` names; not Tansu, whose ListOffsets answer lags by a batch, so
Spark's Kafka source would wait for the tail of a topic there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

pyspark = pytest.importorskip("pyspark")

from fraudguard.config import Settings  # noqa: E402
from fraudguard.devenv.schemas import create_schema, drop_schema  # noqa: E402
from fraudguard.devenv.workspace import isolated_settings, private_state  # noqa: E402
from fraudguard.engines.local.runner import EngineOptions, build_engine  # noqa: E402
from fraudguard.engines.spark.cluster import SparkCluster  # noqa: E402
from fraudguard.engines.spark.connector import connector_jars  # noqa: E402
from fraudguard.generator import generate_frame  # noqa: E402
from tests.fixtures.engine import encode_frame, pg_count, publish_values, read_topic, wait_for  # noqa: E402
from tests.integration.spark_helpers import assert_same_model_scores, predictions_by_id  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.spark]

if connector_jars(None, pyspark.__version__) is None:
    pytest.skip("Spark's Kafka connector jars are not set up (scripts/spark_kafka_setup.sh)", allow_module_level=True)

INVALID = [b"not json at all", b'{"transaction_id": "bad-1", "card_id": "c", "amount": -5}']


@pytest.fixture(scope="module")
def broker(request: pytest.FixtureRequest) -> str:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set, else the session's Apache Kafka (skips without its jars)."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or request.getfixturevalue("apache_kafka")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    c = SparkCluster(tmp_path_factory.mktemp("spark-cluster"), workers=2, cores_per_worker=1)
    c.start()
    try:
        yield c
    finally:
        c.stop()


@dataclass
class Run:
    """Settings of one run (own topics, own PostgreSQL schema, own state directory)."""

    settings: Settings
    bootstrap: str
    database_url: str

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            **self.settings.to_env(),
            "FRAUDGUARD_SPARK_SOURCE": "kafka",
            "PYSPARK_PYTHON": sys.executable,
            **extra,
        }

    def count(self, distinct: bool = False) -> int:
        what = "count(DISTINCT transaction_id)" if distinct else "count(*)"
        return pg_count(self.database_url, f"SELECT {what} FROM fraud_predictions")


@pytest.fixture
def make_run(broker: str, pg_url: str, engine_registry: Path, tmp_path: Path) -> Iterator:
    schemas: list[str] = []

    def make(tag: str, transactions_topic: str | None = None, partitions: int = 4) -> Run:
        schema, url = create_schema(pg_url)
        schemas.append(schema)
        topic = {"topic_transactions": transactions_topic} if transactions_topic else {}
        settings = isolated_settings(
            bootstrap=broker,
            database_url=url,
            state_dir=private_state(tmp_path / f"state-{tag}", engine_registry),
            partitions=partitions,
            tag=f"{tag}-{uuid.uuid4().hex[:6]}",
            **topic,
        )
        return Run(settings, broker, url)

    yield make
    for schema in schemas:
        drop_schema(pg_url, schema)


class Driver:
    """``fraudguard stream --engine spark`` as a child process (the Spark driver)."""

    def __init__(self, run: Run, master: str, checkpoint: Path, log: Path, *, max_offsets: int, trigger: str) -> None:
        args = [sys.executable, "-m", "fraudguard", "stream", "--engine", "spark", "--master", master]
        args += ["--checkpoint", str(checkpoint), "--max-offsets-per-trigger", str(max_offsets), "--trigger", trigger]
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                args, env=run.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self) -> bool:
        if not self.alive():
            raise AssertionError(f"the driver exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
        return True

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90.0) -> int:
        """``sig`` to the driver process (``kill PID``); then whatever is left of its group."""
        if self.alive():
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the driver's JVM, whatever state it is in


def wait_rows(run: Run, driver: Driver, n: int, timeout: float, what: str) -> None:
    wait_for(lambda: driver.check() and run.count() >= n, timeout, what)


@pytest.mark.timeout(1200)  # a Spark driver start and a cold first batch are minutes on a busy 2-core machine
def test_cluster_with_kafka_connector_gives_the_local_engines_predictions(
    cluster: SparkCluster, make_run, tmp_path: Path
) -> None:
    local = make_run("local", partitions=1)
    frame = generate_frame(10_000, fraud_rate=0.05, seed=31, customers=100, merchants=150)
    values, keys = encode_frame(frame)
    publish_values(local.bootstrap, local.settings.topic_transactions, values + INVALID, [*keys, b"x", None])
    engine = build_engine(
        local.settings,
        EngineOptions(batch_size=2000, max_wait_ms=200),
        database_url=local.database_url,
        stop=threading.Event(),
    )
    assert engine.run(max_messages=len(values) + len(INVALID)).dead_letters == len(INVALID)

    spark = make_run("spark", transactions_topic=local.settings.topic_transactions, partitions=1)
    driver = Driver(
        spark, cluster.master_url, tmp_path / "ckpt", tmp_path / "driver.log", max_offsets=5000, trigger="1s"
    )
    try:
        wait_rows(spark, driver, len(values), 600, "every prediction in PostgreSQL")
        wait_for(lambda: len(read_topic(spark.bootstrap, spark.settings.topic_dlq, 0.5)) >= 2, 60, "dead letters")
    finally:
        rc = driver.stop()
    assert rc == 0, driver.log.read_text()[-3000:]
    assert "via kafka source" in driver.log.read_text()
    assert spark.count() == spark.count(distinct=True) == len(values)

    local_preds = predictions_by_id(local.bootstrap, local.settings.topic_predictions)
    spark_preds = predictions_by_id(spark.bootstrap, spark.settings.topic_predictions)
    ids = assert_same_model_scores(local_preds, spark_preds, set(frame["transaction_id"]))
    assert [spark_preds[i].decision for i in ids] == [local_preds[i].decision for i in ids]
    assert len({local_preds[i].decision for i in ids}) > 1, "the data must have alerts and passes"
    letters = read_topic(spark.bootstrap, spark.settings.topic_dlq, idle_s=1.0)
    assert sorted(m.value() for m in letters) == sorted(INVALID)


@pytest.mark.timeout(1500)  # two driver starts and two cold first batches
def test_worker_crash_and_driver_restart_lose_and_duplicate_nothing(
    cluster: SparkCluster, make_run, tmp_path: Path
) -> None:
    run = make_run("failover", partitions=4)
    n = 12_000
    frame = generate_frame(n, fraud_rate=0.05, seed=43, customers=300, merchants=200)
    values, keys = encode_frame(frame)
    publish_values(run.bootstrap, run.settings.topic_transactions, values, keys)
    ckpt = tmp_path / "ckpt"
    log = tmp_path / "driver.log"

    first = Driver(run, cluster.master_url, ckpt, log, max_offsets=1500, trigger="500ms")
    try:
        wait_rows(run, first, 1, 600, "a first committed batch")
        cluster.kill_worker(0)
        at_kill = run.count()
        wait_rows(run, first, at_kill + 2500, 600, "progress on the surviving worker")
        cluster.restart_worker(0)
        # kill -9 the driver mid-stream: the next driver must continue from the checkpoint.
        done_first = run.count()
        assert done_first < n, "the first driver must be stopped mid-stream"
    finally:
        first.stop(signal.SIGKILL)

    second = Driver(run, cluster.master_url, ckpt, log, max_offsets=4000, trigger="500ms")
    try:
        wait_rows(run, second, n, 600, "every row in PostgreSQL")
        assert cluster.alive_workers() == 2
    finally:
        rc = second.stop()
    assert rc == 0, log.read_text()[-3000:]
    assert run.count() == run.count(distinct=True) == n
    ids = pg_ids(run.database_url)
    assert ids == set(frame["transaction_id"])


def pg_ids(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT transaction_id FROM fraud_predictions")}


def test_cluster_stops_without_orphans(cluster: SparkCluster) -> None:
    assert cluster.pids_left(), "the cluster should be running here"
    cluster.stop()
    assert cluster.pids_left() == []
