"""A SparkSession configured for FraudGuard: quiet logs, UTC, Arrow, few shuffle partitions.

Spark prints INFO and WARN lines by the hundred and a console progress bar; the stream's
own progress line is what an operator needs, so the driver and executors get a log4j2
file with ``rootLogger.level = error`` (the same file ships as deploy/log4j2.properties).

The number of shuffle partitions is also the number of state-store partitions of the
per-card feature operator, fixed in the checkpoint at the first run: Spark's default of
200 would run 200 tiny Python tasks per micro-batch on a two-core machine. By default it
is the number of local cores (``local[2]``: 2; every task of a stage then runs at once,
and each stateful stage commits two state stores per batch instead of four: 4 -> 2 raised
the benchmark from 6.7k to 7.6k tx/s), 4 on a cluster.

The RocksDB state store writes a changelog per batch and a snapshot only every few
batches (``changelogCheckpointing``) instead of uploading a snapshot of every store at each
commit: commit time per stateful operator fell from 550-790 to 315-440 ms per 10,000-row
batch. Spark reads checkpoints written either way, so the setting can change on restart.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fraudguard.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
# PySpark counts as a shell: Spark then lowers the console to WARN unless these loggers are set.
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""

ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
"""transformWithState (the merchant operator) requires the RocksDB state store."""
KAFKA_PROVIDER = "org.apache.spark.sql.kafka010.KafkaSourceProvider"


def write_log_config(directory: Path) -> Path:
    """Write the quiet log4j2 file into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "log4j2.properties"
    if not path.exists() or path.read_text() != LOG4J2:
        path.write_text(LOG4J2)
    return path


def prepare_environment(master: str) -> None:
    """Point Python workers at this interpreter (they need pyarrow, pandas and fraudguard)
    and, for a local master, keep Spark on the loopback interface."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith(("local", "spark://127.", "spark://localhost")):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Spark's own worker code concatenates all-null frames (applyInPandasWithState), which
    # pandas 2.x warns about once per group: noise, not a problem of ours.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning:pyspark.worker")


CLUSTER_SHUFFLE_PARTITIONS = 4
_LOCAL = re.compile(r"^local(?:\[(\d+|\*)(?:,\s*\d+)?\])?$")


def default_shuffle_partitions(master: str) -> int:
    """Shuffle partitions when none are configured: the cores of ``local[N]`` / ``local[*]``
    (``local``: 1), :data:`CLUSTER_SHUFFLE_PARTITIONS` for any cluster master."""
    m = _LOCAL.match(master.strip())
    if m is None:
        return CLUSTER_SHUFFLE_PARTITIONS
    cores = m.group(1)
    if cores is None:
        return 1
    return max(1, os.cpu_count() or 1) if cores == "*" else max(1, int(cores))


def build_session(
    master: str,
    *,
    app_name: str = "fraudguard-stream",
    work_dir: Path,
    shuffle_partitions: int | None = None,
    jars: list[Path] | None = None,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """Get or create the process's SparkSession.

    Parameters
    ----------
    master
        ``local[*]``, ``local[2]`` or ``spark://host:7077``.
    work_dir
        Where the log4j2 file goes (under the state directory).
    shuffle_partitions
        Shuffle and state-store partitions (see the module docstring); ``None``:
        :func:`default_shuffle_partitions` of ``master``.
    jars
        Jar files for ``spark.jars`` (Spark's Kafka connector, see :mod:`.connector`):
        shipped to the driver and every executor, never resolved at run time.
    """
    if not (
        master.startswith("local")
        or master.startswith("spark://")
        or master in ("yarn",)
        or master.startswith("k8s://")
    ):
        raise ConfigError(f"spark master {master!r} is not local[...], spark://host:port, yarn or k8s://...")
    if shuffle_partitions is None:
        shuffle_partitions = default_shuffle_partitions(master)
    if shuffle_partitions < 1:
        raise ConfigError(f"shuffle partitions must be >= 1, got {shuffle_partitions}")
    prepare_environment(master)
    from pyspark.sql import SparkSession

    log_conf = write_log_config(work_dir)
    java_opts = f"-Dlog4j2.configurationFile=file:{log_conf} -Dlog4j.configurationFile=file:{log_conf}"
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.executor.extraJavaOptions", java_opts)
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "20000")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.python.worker.reuse", "true")
        # Python workers (and the transformWithState state server) talk to their JVM over
        # Unix-domain sockets, not loopback TCP: a TCP server socket's ephemeral port can be
        # one that another client still dials (a Kafka client retrying a stopped broker), whose
        # bytes then fail the worker's authentication ("Python worker failed to connect back").
        .config("spark.python.unix.domain.socket.enabled", "true")
        .config("spark.sql.streaming.stateStore.providerClass", ROCKSDB_PROVIDER)
        .config("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
        # The merchant operator runs without event time, so it never drops rows as late;
        # Spark's check cannot know that and refuses a stateful operator after another.
        .config("spark.sql.streaming.statefulOperator.checkCorrectness.enabled", "false")
        .config("spark.executorEnv.PYSPARK_PYTHON", os.environ["PYSPARK_PYTHON"])
        .config("spark.executorEnv.PYTHONWARNINGS", os.environ["PYTHONWARNINGS"])
    )
    if os.environ.get("PYTHONPATH"):  # a source checkout: executors' Python workers import it too
        builder = builder.config("spark.executorEnv.PYTHONPATH", os.environ["PYTHONPATH"])
    if jars:
        builder = builder.config("spark.jars", ",".join(str(j) for j in jars))
    if master.startswith(("spark://127.", "spark://localhost")):
        # A standalone cluster on loopback: executors must call the driver back there too.
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def kafka_connector_available(spark: SparkSession) -> bool:
    """True when Spark's own Kafka source (spark-sql-kafka-0-10) is on the classpath."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(KAFKA_PROVIDER, False, loader)
    except Exception:
        return False
    return True
