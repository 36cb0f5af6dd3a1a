"""The Apache Kafka launcher's configuration, without starting a JVM."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fraudguard.errors import BrokerError
from fraudguard.io.kafka_cluster import KAFKA_VERSION, KafkaCluster, check_kafka_lib, new_cluster_id

ROOT = Path(__file__).resolve().parents[2]


def test_pom_pins_the_launchers_kafka_version():
    pom = (ROOT / "deploy/maven/kafka/pom.xml").read_text()
    assert re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1) == KAFKA_VERSION
    assert "<artifactId>kafka_2.13</artifactId>" in pom


def _props(c: KafkaCluster, i: int) -> dict[str, str]:
    return dict(line.split("=", 1) for line in c._properties(i).splitlines())


@pytest.mark.parametrize(("brokers", "rf", "isr"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)])
def test_replication_follows_the_node_count(tmp_path, brokers, rf, isr):
    c = KafkaCluster(tmp_path, tmp_path, brokers=brokers)
    for i in range(brokers):
        p = _props(c, i)
        assert p["node.id"] == str(i)
        assert p["default.replication.factor"] == str(rf)
        assert p["offsets.topic.replication.factor"] == str(rf)
        assert p["transaction.state.log.replication.factor"] == str(rf)
        assert p["min.insync.replicas"] == str(isr)
        assert len(p["controller.quorum.voters"].split(",")) == brokers
        assert p["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{c.ports[i]}"
    assert len(set(c.ports + c.controller_ports)) == 2 * brokers
    assert c.bootstrap_servers.count(",") == brokers - 1


def test_explicit_port_gives_consecutive_client_ports(tmp_path):
    assert KafkaCluster(tmp_path, tmp_path, brokers=3, port=19092).ports == [19092, 19093, 19094]


def test_bad_node_count_and_missing_jars_are_clear_errors(tmp_path):
    with pytest.raises(BrokerError, match="between 1 and 9"):
        KafkaCluster(tmp_path, tmp_path, brokers=0)
    with pytest.raises(BrokerError, match=r"kafka_setup\.sh"):
        check_kafka_lib(tmp_path)
    with pytest.raises(BrokerError, match=r"kafka_setup\.sh"):
        KafkaCluster(tmp_path / "state", tmp_path, brokers=1).start()


def test_compose_runs_the_same_kafka_with_the_same_settings(tmp_path):
    import yaml

    kafka = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    env = {k: str(v) for k, v in kafka["environment"].items()}
    ours = _props(KafkaCluster(tmp_path, tmp_path, brokers=1), 0)
    shared = [
        "default.replication.factor",
        "min.insync.replicas",
        "offsets.topic.replication.factor",
        "offsets.topic.num.partitions",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "transaction.state.log.num.partitions",
        "unclean.leader.election.enable",
        "group.initial.rebalance.delay.ms",
        "auto.create.topics.enable",
        "num.partitions",
    ]
    for key in shared:
        assert env["KAFKA_" + key.upper().replace(".", "_")] == ours[key], key


def test_cluster_ids_never_look_like_an_option():
    # kafka-storage format -t <id>: an id starting with "-" was parsed as a flag (1 run in 64 failed)
    ids = [new_cluster_id() for _ in range(5_000)]
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 and re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    assert len(set(ids)) == len(ids)
