"""Finding Spark's Kafka connector jars, choosing the Kafka source, cluster argument checks,
the default shuffle partitions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fraudguard.engines.spark.cluster import SparkCluster
from fraudguard.engines.spark.connector import REQUIRED, choose_source, connector_jars
from fraudguard.engines.spark.session import default_shuffle_partitions
from fraudguard.errors import ConfigError
from fraudguard.io.broker import TANSU_CLUSTER_ID

JARS = (
    "spark-sql-kafka-0-10_2.13-4.2.0.jar",
    "spark-token-provider-kafka-0-10_2.13-4.2.0.jar",
    "kafka-clients-3.9.2.jar",
    "commons-pool2-2.13.1.jar",
)


def fill(directory: Path, names: tuple[str, ...]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"PK")
    return directory


def test_finds_the_four_jars_in_dependency_order(tmp_path: Path) -> None:
    d = fill(tmp_path / "jars", (*JARS, "unrelated-1.0.jar", "notes.txt"))
    jars = connector_jars(d, "4.2.0")
    assert jars is not None
    assert [p.name for p in jars] == list(JARS)
    assert len(REQUIRED) == len(JARS)


def test_absent_directory_or_connector_means_no_connector(tmp_path: Path) -> None:
    assert connector_jars(tmp_path / "missing", "4.2.0") is None
    assert connector_jars(fill(tmp_path / "other", ("kafka-clients-3.9.2.jar",)), "4.2.0") is None


def test_connector_of_another_spark_version_is_refused(tmp_path: Path) -> None:
    d = fill(tmp_path / "jars", JARS)
    with pytest.raises(ConfigError, match=r"built for Spark 4\.2\.0 but pyspark is 4\.3\.0"):
        connector_jars(d, "4.3.0")


def test_half_downloaded_connector_names_what_is_missing(tmp_path: Path) -> None:
    d = fill(tmp_path / "jars", JARS[:2])
    with pytest.raises(ConfigError, match="kafka-clients, commons-pool2"):
        connector_jars(d, "4.2.0")


def test_source_choice(tmp_path: Path) -> None:
    jars = [tmp_path / "x.jar"]
    assert choose_source("auto", jars).kind == "kafka"
    assert choose_source("auto", None).kind == "python"
    assert choose_source("python", jars).kind == "python"
    assert choose_source("kafka", jars).kind == "kafka"
    # Tansu's ListOffsets lags a batch: auto reads there with the Python source, kafka stays kafka
    assert choose_source("auto", jars, TANSU_CLUSTER_ID) == (
        "python",
        "the broker is Tansu, whose ListOffsets lags a batch",
    )
    assert choose_source("auto", None, TANSU_CLUSTER_ID).note is None  # no jars: nothing passed over
    assert choose_source("auto", jars, "MkU3OEVBNTcwNTJENDM2Qk").kind == "kafka"
    assert choose_source("kafka", jars, TANSU_CLUSTER_ID).kind == "kafka"
    with pytest.raises(ConfigError, match="needs Spark's Kafka connector jars"):
        choose_source("kafka", None)
    with pytest.raises(ConfigError, match="not auto, kafka or python"):
        choose_source("connector", jars)


def test_cluster_refuses_an_empty_shape(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1 worker"):
        SparkCluster(tmp_path, workers=0)
    with pytest.raises(ConfigError, match="at least 1 worker"):
        SparkCluster(tmp_path, cores_per_worker=0)
    assert SparkCluster(tmp_path, master_port=7077).master_url == "spark://127.0.0.1:7077"


@pytest.mark.parametrize(
    ("master", "partitions"),
    [("local[2]", 2), ("local[3]", 3), ("local[4,2]", 4), ("local", 1), ("spark://127.0.0.1:7077", 4), ("yarn", 4)],
)
def test_shuffle_partitions_default_to_the_local_cores(master: str, partitions: int) -> None:
    assert default_shuffle_partitions(master) == partitions


def test_local_star_takes_every_core() -> None:
    assert default_shuffle_partitions("local[*]") == max(1, os.cpu_count() or 1)
