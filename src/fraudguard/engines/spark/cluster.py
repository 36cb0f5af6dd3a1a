"""A Spark standalone cluster on loopback, started from pyspark's own ``bin/spark-class``.

This is how a cluster runs Spark without YARN or Kubernetes: one Master JVM, Worker JVMs
that register with it, and executor JVMs the workers start for each application. The
pip-installed pyspark ships the jars and ``bin/spark-class`` but not ``sbin/start-*.sh``,
so the Master and Workers run in the foreground through ``spark-class`` (the same
classes the sbin scripts daemonize), each in its own session and process group, with
logs under ``log_dir``.

Shutdown is SIGTERM to every group (workers first), then SIGKILL after a grace period:
a worker's executors and their Python daemons live in or below its group, so nothing
outlives :meth:`SparkCluster.stop`. :meth:`SparkCluster.kill_worker` is the crash a
failover test needs (kill -9 of one worker JVM; its executor then exits by itself when
it loses the worker, and the driver reschedules the lost tasks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from fraudguard.errors import ConfigError, FraudGuardError
from fraudguard.io.broker import free_port, wait_for_port

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def spark_home() -> Path:
    """pyspark's package directory: it holds ``bin/spark-class`` and ``jars/``."""
    try:
        import pyspark
    except ImportError as e:  # pragma: no cover - the spark extra is missing
        raise ConfigError("the Spark cluster needs pyspark: pip install fraudguard[spark]") from e
    return Path(pyspark.__file__).resolve().parent


@dataclass
class _Proc:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0


@dataclass
class SparkCluster:
    """A Master and ``workers`` Workers on 127.0.0.1 free ports.

    Parameters
    ----------
    log_dir
        Logs (``master.log``, ``worker-N.log``) and the workers' scratch directories.
    workers, cores_per_worker, memory_per_worker
        What the cluster offers applications: an application with ``spark.executor.cores``
        equal to ``cores_per_worker`` gets one executor per worker.
    worker_timeout_s
        How long the master waits for a silent worker before declaring it lost (Spark's
        default is 60 s; a killed worker is usually noticed at once, by its closed socket).
    """

    log_dir: Path
    workers: int = 2
    cores_per_worker: int = 1
    memory_per_worker: str = "2g"
    worker_timeout_s: int = 20
    master_port: int = 0
    ui_port: int = 0
    _master: _Proc | None = field(default=None, repr=False)
    _workers: list[_Proc] = field(default_factory=list, repr=False)
    _groups: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.cores_per_worker < 1:
            raise ConfigError(
                f"a Spark cluster needs at least 1 worker with at least 1 core, got {self.workers} "
                f"worker(s) of {self.cores_per_worker} core(s)"
            )

    @property
    def master_url(self) -> str:
        """``spark://127.0.0.1:PORT`` for ``--master``."""
        return f"spark://{HOST}:{self.master_port}"

    @property
    def ui_url(self) -> str:
        """The master's web UI (``/json/`` lists workers and applications)."""
        return f"http://{HOST}:{self.ui_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SPARK_HOME=str(spark_home()),
            SPARK_LOCAL_IP=HOST,
            PYSPARK_PYTHON=env.get("PYSPARK_PYTHON", sys.executable),
            SPARK_DAEMON_MEMORY="512m",
            # Master and workers must agree: a worker heartbeats every timeout/4 of its own setting.
            SPARK_DAEMON_JAVA_OPTS=f"-Dspark.worker.timeout={self.worker_timeout_s}",
        )
        return env

    def _spawn(self, p: _Proc) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{p.name}.log").open("ab") as log:
            p.proc = subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), *p.args],
                env=self._env(),
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._groups.add(p.proc.pid)

    def _worker(self, index: int) -> _Proc:
        port = free_port()
        work = self.log_dir / f"worker-{index}"
        args = [
            WORKER_CLASS,
            *("--host", HOST, "--port", str(port), "--webui-port", str(free_port())),
            *("--cores", str(self.cores_per_worker), "--memory", self.memory_per_worker),
            *("--work-dir", str(work), self.master_url),
        ]
        return _Proc(f"worker-{index}", args, port=port)

    def start(self, timeout_s: float = 120.0) -> SparkCluster:
        """Start the master, then the workers; return once every worker is ALIVE."""
        if self._master is not None:
            raise FraudGuardError("the Spark cluster is already started")
        self.master_port = self.master_port or free_port()
        self.ui_port = self.ui_port or free_port()
        self._master = _Proc(
            "master",
            [MASTER_CLASS, "--host", HOST, "--port", str(self.master_port), "--webui-port", str(self.ui_port)],
            port=self.master_port,
        )
        try:
            self._spawn(self._master)
            wait_for_port(HOST, self.master_port, timeout_s, self._master.proc)
            self._workers = [self._worker(i) for i in range(self.workers)]
            for w in self._workers:
                self._spawn(w)
            self.wait_alive(self.workers, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def status(self) -> dict[str, object]:
        """The master's JSON status (workers, cores, applications)."""
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as r:
            return dict(json.load(r))

    def alive_workers(self) -> int:
        """Workers the master currently counts as ALIVE."""
        workers = self.status().get("workers") or []
        assert isinstance(workers, list)
        return sum(1 for w in workers if w.get("state") == "ALIVE")

    def wait_alive(self, n: int, timeout_s: float) -> None:
        """Wait until the master has ``n`` ALIVE workers, or raise with the logs' path."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for p in [self._master, *self._workers]:
                if p is not None and p.proc is not None and p.proc.poll() is not None and p.name == "master":
                    raise FraudGuardError(
                        f"the Spark master exited ({p.proc.returncode}); see {self.log_dir}/master.log"
                    )
            try:
                if self.alive_workers() >= n:
                    return
            except (OSError, ValueError):  # not listening yet, or a half-started UI
                pass
            time.sleep(0.5)
        raise FraudGuardError(f"the Spark cluster has not {n} alive workers after {timeout_s:.0f}s; see {self.log_dir}")

    def worker_pids(self) -> list[int | None]:
        """The JVM pid of each worker slot (``None`` for one that has exited)."""
        return [w.proc.pid if w.proc and w.proc.poll() is None else None for w in self._workers]

    def kill_worker(self, index: int) -> int:
        """kill -9 one worker JVM (a crash, no shutdown hook); returns its pid."""
        p = self._workers[index].proc
        if p is None or p.poll() is not None:
            raise FraudGuardError(f"worker {index} is not running")
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        return p.pid

    def restart_worker(self, index: int, timeout_s: float = 60.0) -> None:
        """Start a new worker in slot ``index`` (after :meth:`kill_worker`) and wait for it."""
        old = self._workers[index]
        if old.proc is not None and old.proc.poll() is None:
            raise FraudGuardError(f"worker {index} is still running")
        _killpg(old.proc)  # whatever the crashed worker left behind in its group
        self._workers[index] = self._worker(index)
        self._spawn(self._workers[index])
        self.wait_alive(self.workers, timeout_s)

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM every process group (workers, then master), SIGKILL what is left, and
        return once no process of those groups is alive (or 10 s have passed: logged)."""
        procs = [w.proc for w in self._workers] + [self._master.proc if self._master else None]
        for p in procs:
            _killpg(p, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for p in procs:
            if p is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.1, deadline - time.monotonic()))
            _killpg(p, signal.SIGKILL)
            p.wait(10)
        self._master = None
        self._workers = []
        self._wait_groups_gone(10.0)

    def _wait_groups_gone(self, timeout_s: float) -> None:
        """Wait until no process is left in the cluster's groups: SIGKILL is delivered at
        once but an executor JVM or Python daemon in the group may take a moment to exit
        (seen on a loaded machine: one left right after its group leader was reaped)."""
        deadline = time.monotonic() + timeout_s
        while (left := self.pids_left()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if left:
            log.warning("Spark cluster processes %s still alive %.0f s after SIGKILL", left, timeout_s)

    def pids_left(self) -> list[int]:
        """Processes still in any process group the cluster started (empty after :meth:`stop`)."""
        return _pids_in_groups(self._groups)

    def __enter__(self) -> SparkCluster:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()


def _killpg(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL) -> None:
    """Signal a process group whose leader we started (it may already be gone)."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _pids_in_groups(groups: set[int]) -> list[int]:
    """Live pids whose process group is one of ``groups`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) in groups:
                found.append(int(entry.name))
    return found
