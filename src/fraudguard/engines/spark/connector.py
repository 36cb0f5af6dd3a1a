"""Where Spark's Kafka connector jars come from, and which Kafka source the engine uses.

The jars are resolved once, at set-up, by Maven from the pinned descriptor
``deploy/maven/spark-kafka/pom.xml`` into a cache directory (``scripts/spark_kafka_setup.sh``, run by ``scripts/bootstrap.sh``),
and handed to Spark with ``spark.jars``. Nothing is resolved at run time: a cluster
without Maven access, or a test run offline, starts the same way every time.

The connector must be built for the running Spark: a ``spark-sql-kafka-0-10`` jar of
another version fails deep inside a query with a ``NoSuchMethodError``, so the version in
the jar's name is checked against pyspark's here, with a clear error instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, NamedTuple

from fraudguard.errors import ConfigError
from fraudguard.io.broker import TANSU_CLUSTER_ID

CONNECTOR = "spark-sql-kafka-0-10_2.13"
REQUIRED = (CONNECTOR, "spark-token-provider-kafka-0-10_2.13", "kafka-clients", "commons-pool2")
"""What pyspark's own ``jars/`` lacks; the connector's other dependencies ship with pyspark."""
_JAR = re.compile(r"^(?P<artifact>.+)-(?P<version>\d+\.\d+[\w.\-]*)\.jar$")

SourceChoice = Literal["auto", "kafka", "python"]


def default_jars_dir(spark_version: str) -> Path:
    """``~/.cache/fraudguard/spark-kafka-<version>`` (where scripts/spark_kafka_setup.sh
    puts them, next to the Apache Kafka broker's jars)."""
    return Path.home() / ".cache" / "fraudguard" / f"spark-kafka-{spark_version}"


def connector_jars(directory: Path | None, spark_version: str) -> list[Path] | None:
    """The connector's jars in ``directory``, or ``None`` when the connector is not there.

    Raises
    ------
    ConfigError
        The directory holds a connector for another Spark version, or lacks one of its
        dependencies (a half-finished download): both would fail later, less clearly.
    """
    directory = directory or default_jars_dir(spark_version)
    if not directory.is_dir():
        return None
    found: dict[str, tuple[str, Path]] = {}
    for path in sorted(directory.glob("*.jar")):
        m = _JAR.match(path.name)
        if m and m.group("artifact") in REQUIRED:
            found[m.group("artifact")] = (m.group("version"), path)
    if CONNECTOR not in found:
        return None
    version = found[CONNECTOR][0]
    if version != spark_version:
        raise ConfigError(
            f"{found[CONNECTOR][1]} is built for Spark {version} but pyspark is {spark_version}: "
            "pin them together (pyproject.toml and deploy/maven/spark-kafka/pom.xml) and rerun scripts/spark_kafka_setup.sh"
        )
    missing = [a for a in REQUIRED if a not in found]
    if missing:
        raise ConfigError(
            f"{directory} has the Kafka connector but not {', '.join(missing)}: rerun scripts/spark_kafka_setup.sh"
        )
    return [found[a][1] for a in REQUIRED]


class Source(NamedTuple):
    """The source :func:`choose_source` picked, and why when ``auto`` passed over the connector."""

    kind: Literal["kafka", "python"]
    note: str | None = None


def choose_source(choice: str, jars: list[Path] | None, cluster_id: str | None = None) -> Source:
    """Resolve ``auto`` / ``kafka`` / ``python`` against what is installed and the broker.

    ``auto`` takes the connector when its jars are there, except on Tansu (``cluster_id``
    :data:`~fraudguard.io.broker.TANSU_CLUSTER_ID`): Spark's Kafka source trusts ListOffsets,
    whose answer on Tansu lags by the last record batch, so the tail of a topic would wait.
    The note then says so. An explicit ``kafka`` is kept even there.
    """
    if choice not in ("auto", "kafka", "python"):
        raise ConfigError(f"spark source {choice!r} is not auto, kafka or python")
    if choice == "kafka" and jars is None:
        raise ConfigError(
            "spark source 'kafka' needs Spark's Kafka connector jars: run scripts/spark_kafka_setup.sh "
            "or set FRAUDGUARD_SPARK_KAFKA_JARS_DIR"
        )
    if choice == "python" or jars is None:
        return Source("python")
    if choice == "auto" and cluster_id == TANSU_CLUSTER_ID:
        return Source("python", "the broker is Tansu, whose ListOffsets lags a batch")
    return Source("kafka")
