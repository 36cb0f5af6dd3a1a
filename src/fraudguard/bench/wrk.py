"""Benchmark ``wrk``: ``POST /v1/score`` driven by Debian's ``wrk`` (a C load generator).

Why a second API benchmark: the ``api`` benchmark's client is Python (``fraudguard
loadtest``) and on a 2-core machine it eats the cores the server needs, so it measures
the pair. ``wrk`` costs a fraction of that, so this one measures the server: latency at
concurrency 1 (one client, nothing to batch with: the single-transaction decision time
over HTTP) and throughput and p99 at 200 connections. The requests are real generated
transactions, one JSON body per line, posted round-robin by ``lua/score.lua`` as what-ifs
(``record=false``, the loadtest default) to a fresh server (one process) of the same
registry, with no broker or database behind it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from fraudguard.errors import FraudGuardError

MARK = "FRAUDGUARD_WRK "


def lua_script() -> Path:
    """Path of the packaged Lua script."""
    return Path(str(resources.files("fraudguard.bench") / "lua" / "score.lua"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_bodies(path: Path, n: int, seed: int = 7) -> Path:
    """``n`` generated transactions as JSON bodies, one per line (what the Lua script reads)."""
    from fraudguard.cli.loadtest import make_payloads

    bodies = make_payloads(n, seed=seed)
    if any(b"\n" in b for b in bodies):
        raise FraudGuardError("a generated request body contains a newline")
    path.write_bytes(b"\n".join(bodies) + b"\n")
    return path


def run_wrk(
    url: str,
    bodies: Path,
    *,
    connections: int,
    threads: int,
    seconds: float,
    query: str = "record=false",
    key: str = "",
) -> dict[str, Any]:
    """One ``wrk`` run; requests/s and latency percentiles in ms from the script's summary line."""
    exe = shutil.which("wrk")
    if exe is None:
        raise FraudGuardError("wrk is not installed (Debian: apt-get install -y wrk)")
    argv = [exe, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(lua_script()), url, "--", str(bodies), query, key]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise FraudGuardError(f"wrk failed ({out.returncode}): {(out.stderr or out.stdout)[-400:]}")
    raw = json.loads(line[len(MARK) :])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "connections": connections,
        "threads": threads,
        "requests": raw["requests"],
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["errors"],
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        **{f"{p}_ms": raw[f"{p}_us"] / 1000 for p in ("p50", "p90", "p95", "p99", "max", "mean")},
    }


def run_api_wrk(
    state_dir: Path, *, seconds: float = 15.0, concurrency: int = 200, bodies: int = 20_000
) -> dict[str, Any]:
    """A fresh server; ``wrk`` at 1 connection, then at ``concurrency`` (after a short warm-up)."""
    from fraudguard.bench.api import API_KEY, start_server

    path = write_bodies(state_dir / "wrk-bodies.jsonl", bodies)
    server, url = start_server("fraudguard", state_dir)
    pid = server.proc.pid

    def measured(connections: int, threads: int) -> dict[str, Any]:
        # server CPU per request: on a shared machine this moves far less than wall-clock latency
        before = cpu_seconds(pid)
        run = run_wrk(url, path, connections=connections, threads=threads, seconds=seconds, key=API_KEY)
        cpu = cpu_seconds(pid) - before
        return {**run, "server_cpu_us_per_request": 1e6 * cpu / run["requests"] if run["requests"] else None}

    try:
        run_wrk(url, path, connections=concurrency, threads=2, seconds=2, key=API_KEY)  # warm-up
        one = measured(1, 1)
        many = measured(concurrency, 2)
    finally:
        server.stop()
    return {
        "c1": one,
        f"c{concurrency}": many,
        "concurrency": concurrency,
        "rps": many["rps"],
        "p99_ms": many["p99_ms"],
        "note": "wrk (C) with lua/score.lua, what-if scoring (record=false), one server process, no broker/database",
    }
