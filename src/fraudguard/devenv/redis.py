"""A memory-only Redis server on a free loopback port, for tests of the shared feature state.

Debian's ``redis-server`` (``scripts/test.sh`` installs it when missing) runs in the
foreground with persistence off (``--save '' --appendonly no``); :func:`start_redis`
returns once it answers PING, and :meth:`RedisServer.stop` stops it (TERM, then KILL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from fraudguard.io.broker import free_port


def redis_binary() -> str | None:
    """Path of ``redis-server``, or ``None`` when it is not installed."""
    found = shutil.which("redis-server")
    if found:
        return found
    return "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None


@dataclass
class RedisServer:
    """A started ``redis-server``: its ``url`` and the process to stop."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Return once the server at ``url`` answers PING; raise if it exits or stays silent."""
    import redis

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode} before answering")
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
            client.ping()
            client.close()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_redis(binary: str) -> RedisServer:
    """Start ``binary`` on a free port, memory only; returns once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(f"redis://127.0.0.1:{port}/0", proc)
    try:
        wait_ready(server.url, proc)
    except BaseException:
        server.stop()
        raise
    return server
