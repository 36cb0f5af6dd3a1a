"""Apache Kafka (KRaft) on loopback: N combined broker+controller JVMs from the pinned jars.

Tansu (``io/broker.py``) is the zero-JVM default; this launcher exists so the same code
paths run against the real thing: replication, leader failover, transactions with
``read_committed`` readers, and consumer groups without Tansu's read cap.

The jars come from Maven Central once, at setup (``scripts/kafka_setup.sh`` resolves
``deploy/maven/kafka/pom.xml`` into ``~/.cache/fraudguard/kafka-<version>/lib``); nothing
is downloaded here. Every node is both broker and controller and the controller quorum is
all N nodes (static voters), so a 3-node cluster survives losing any one node. Replication
factor is ``min(3, N)`` and ``min.insync.replicas`` is 2 from 3 nodes on, so an
``acks=all`` write is on two disks before it is acknowledged.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import signal
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from fraudguard.errors import BrokerError
from fraudguard.io.broker import free_port, port_is_free, wait_for_port

KAFKA_VERSION = "4.4.0"
"""The Kafka release pinned in deploy/maven/kafka/pom.xml and deploy/docker-compose.yml."""

_LOG4J2 = """status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
"""


def default_kafka_lib(cache_dir: Path | None = None) -> Path:
    """Where the setup step puts the broker's jars: ``~/.cache/fraudguard/kafka-<version>/lib``."""
    root = cache_dir if cache_dir is not None else Path.home() / ".cache" / "fraudguard"
    return root / f"kafka-{KAFKA_VERSION}" / "lib"


def check_kafka_lib(lib_dir: Path) -> Path:
    """``lib_dir`` if it holds the pinned broker jar; :class:`BrokerError` saying how to get it."""
    if not (lib_dir / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
        raise BrokerError(
            f"Apache Kafka {KAFKA_VERSION} jars not found in {lib_dir}: run scripts/kafka_setup.sh "
            "(needs java and mvn, resolves deploy/maven/kafka/pom.xml from Maven Central once)"
        )
    return lib_dir


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """PR_SET_PDEATHSIG: the kernel kills the JVM if the Python process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def new_cluster_id() -> str:
    """16 random bytes, URL-safe base64 (22 chars), never starting with ``-`` (like Kafka's
    ``Uuid.randomUuid()``): the storage tool took ``-t -Abc...`` for an option, 1 format in 64)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaCluster:
    """``brokers`` KRaft nodes on ``127.0.0.1``; node ``i`` serves clients on ``ports[i]``.

    Use as a context manager or ``start()`` / ``stop()``. ``kill(i)`` (SIGKILL) and
    ``restart(i)`` exist for failover tests; storage stays formatted across restarts.
    """

    def __init__(
        self,
        state_dir: Path,
        lib_dir: Path,
        brokers: int = 1,
        port: int | None = None,
        partitions: int = 4,
        heap_mb: int = 512,
        log_level: str = "WARN",
    ) -> None:
        if not 1 <= brokers <= 9:
            raise BrokerError(f"--brokers must be between 1 and 9, got {brokers}")
        self.state_dir = Path(state_dir)
        self.lib_dir = lib_dir
        self.brokers = brokers
        self.partitions = partitions
        self.heap_mb = heap_mb
        self.log_level = log_level
        self.ports = [port + i for i in range(brokers)] if port is not None else [free_port() for _ in range(brokers)]
        self.controller_ports = [free_port() for _ in range(brokers)]
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * brokers

    @property
    def replication_factor(self) -> int:
        """``min(3, brokers)``: the cluster's default for every topic, internal ones included."""
        return min(3, self.brokers)

    @property
    def min_insync_replicas(self) -> int:
        """2 from 3 nodes on (one node may be down), else 1."""
        return 2 if self.replication_factor >= 3 else 1

    @property
    def bootstrap_servers(self) -> str:
        """Every node's client address, comma separated."""
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def node_dir(self, i: int) -> Path:
        """State of node ``i``: properties, log4j2 file, data and logs."""
        return self.state_dir / f"node-{i}"

    def pid(self, i: int) -> int | None:
        """Process id of node ``i`` while it runs."""
        proc = self._procs[i]
        return None if proc is None or proc.poll() is not None else proc.pid

    def _properties(self, i: int) -> str:
        voters = ",".join(f"{n}@127.0.0.1:{cp}" for n, cp in enumerate(self.controller_ports))
        rf, isr = self.replication_factor, self.min_insync_replicas
        conf = {
            "process.roles": "broker,controller",
            "node.id": i,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.ports[i]},CONTROLLER://127.0.0.1:{self.controller_ports[i]}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.ports[i]}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.node_dir(i) / "data",
            "num.partitions": self.partitions,
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 8,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "transaction.state.log.num.partitions": 8,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": isr,
            "unclean.leader.election.enable": "false",
            "auto.create.topics.enable": "false",  # as deploy/docker-compose.yml: topics come from ensure_topics
            "group.initial.rebalance.delay.ms": 0,
            "num.network.threads": 2,
            "num.io.threads": 4,
            "log.retention.hours": 24,
        }
        return "".join(f"{k}={v}\n" for k, v in conf.items())

    def _java(self, i: int, main: str, *args: str) -> list[str]:
        d = self.node_dir(i)
        heap = [f"-Xms{min(256, self.heap_mb)}m", f"-Xmx{self.heap_mb}m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
        logs = [f"-Dlog4j2.configurationFile={d / 'log4j2.properties'}", f"-Dkafka.logs.dir={d / 'logs'}"]
        return ["java", *heap, "-Djava.awt.headless=true", *logs, "-cp", f"{self.lib_dir}/*", main, *args]

    def _prepare(self, cluster_id: str) -> None:
        """Write each node's files and format its storage (all nodes in parallel)."""
        formats = []
        for i in range(self.brokers):
            d = self.node_dir(i)
            (d / "logs").mkdir(parents=True, exist_ok=True)
            (d / "server.properties").write_text(self._properties(i))
            log = d / "logs" / "server.log"
            (d / "log4j2.properties").write_text(_LOG4J2.format(log=log, level=self.log_level))
            if not (d / "data" / "meta.properties").exists():
                fmt = ("format", "-t", cluster_id, "-c", str(d / "server.properties"))
                formats.append((i, self._popen(self._java(i, "kafka.tools.StorageTool", *fmt), subprocess.PIPE)))
        for i, proc in formats:
            out, _ = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise BrokerError(f"formatting Kafka node {i} failed: {out.decode(errors='replace')[-800:]}")

    def start(self, timeout: float = 90.0) -> KafkaCluster:
        """Format storage on first use, start every node, wait until metadata lists all brokers."""
        check_kafka_lib(self.lib_dir)
        for p in self.ports:
            if not port_is_free("127.0.0.1", p):
                raise BrokerError(f"port 127.0.0.1:{p} is already in use; choose another with --port")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        id_file = self.state_dir / "cluster.id"
        fresh = not id_file.exists()
        cluster_id = new_cluster_id() if fresh else id_file.read_text().strip()
        self._prepare(cluster_id)
        if fresh:
            id_file.write_text(cluster_id)
        try:
            for i in range(self.brokers):
                self._spawn(i)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _popen(argv: list[str], out: Any) -> subprocess.Popen[bytes]:
        """A JVM in its own session that the kernel kills if we die (no orphaned brokers)."""
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _spawn(self, i: int) -> None:
        d = self.node_dir(i)
        with open(d / "logs" / "stdout.log", "ab") as out:
            self._procs[i] = self._popen(self._java(i, "kafka.Kafka", str(d / "server.properties")), out)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until every node listens and the metadata lists all brokers (else :class:`BrokerError`)."""
        from confluent_kafka import KafkaException

        from fraudguard.io.kafka import make_admin

        deadline = time.monotonic() + timeout
        for i, p in enumerate(self.ports):
            proc = self._procs[i]
            if proc is not None:
                wait_for_port("127.0.0.1", p, max(1.0, deadline - time.monotonic()), proc)
        admin = make_admin(self.bootstrap_servers)
        while time.monotonic() < deadline:
            for i, proc in enumerate(self._procs):
                if proc is not None and proc.poll() is not None:
                    raise BrokerError(f"Kafka node {i} exited with code {proc.returncode}; see {self.node_dir(i)}/logs")
            with contextlib.suppress(KafkaException):
                md = admin.list_topics(timeout=2)
                if len(md.brokers) == self.brokers and md.controller_id >= 0:
                    return
            time.sleep(0.2)
        raise BrokerError(f"the Kafka cluster did not list {self.brokers} brokers within {timeout:.0f}s")

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (failover tests): no controlled shutdown, no flush."""
        proc = self._procs[i]
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(30)

    def restart(self, i: int, timeout: float = 90.0) -> None:
        """Start node ``i`` again on its old ports and storage; wait until all brokers are back."""
        if self.pid(i) is not None:
            raise BrokerError(f"Kafka node {i} is still running")
        self._spawn(i)
        self.wait_ready(timeout)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM every node (controlled shutdown), then SIGKILL what is left after ``grace`` s."""
        live = [p for p in self._procs if p is not None and p.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(10)
        self._procs = [None] * self.brokers

    def is_running(self) -> bool:
        """True while every node's process is alive."""
        return all(self.pid(i) is not None for i in range(self.brokers))

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def leader_node(bootstrap: str, topic: str, partition: int = 0, timeout: float = 10.0) -> int:
    """Node id (= index in :class:`KafkaCluster`) leading ``topic``/``partition`` right now."""
    from fraudguard.io.kafka import make_admin

    md = make_admin(bootstrap).list_topics(topic=topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None or partition not in t.partitions:
        raise BrokerError(f"topic {topic!r} partition {partition} not found on {bootstrap}")
    return int(t.partitions[partition].leader)
