"""Benchmark 4: ``POST /v1/score`` under 200 concurrent clients, real API vs the naive server.

Both servers run as their own uvicorn process (one worker each) on a free port, with the
same registry, no broker and no database: the requests are what-if scores
(``record=false``, the loadtest default), so only decoding, features, models and the
HTTP stack are measured. The load is :func:`fraudguard.cli.loadtest.run_load` (what
``fraudguard loadtest`` runs) from this process, which shares the machine's cores with the
server: on 2 cores the client costs the server part of its CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fraudguard.errors import FraudGuardError

API_KEY = "bench-key-0123456789abcdef"


class Server:
    """A server child process in its own session; :meth:`stop` ends it (TERM, then KILL)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.log = log

    def stop(self, grace: float = 10.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace)
        self._log.close()


def _server_env(state_dir: Path, port: int) -> dict[str, str]:
    drop = ("KAFKA_BOOTSTRAP_SERVERS", "FRAUDGUARD_KAFKA_BOOTSTRAP_SERVERS", "FRAUDGUARD_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("FRAUDGUARD_REDIS")}
    env.update(
        FRAUDGUARD_STATE_DIR=str(state_dir),
        FRAUDGUARD_API_PORT=str(port),
        FRAUDGUARD_API_HOST="127.0.0.1",
        FRAUDGUARD_API_KEYS=API_KEY,
        FRAUDGUARD_ENVIRONMENT="development",
    )
    return env


def start_server(kind: str, state_dir: Path, timeout_s: float = 90.0) -> tuple[Server, str]:
    """Start ``kind`` (``fraudguard`` or ``naive``) and wait until it scores; returns it and its URL."""
    import httpx

    from fraudguard.cli.loadtest import make_payloads
    from fraudguard.io.broker import free_port

    port = free_port()
    if kind == "fraudguard":
        argv = [sys.executable, "-m", "fraudguard", "api", "--port", str(port)]
    else:
        argv = [sys.executable, "-m", "uvicorn", "fraudguard.bench.naive_api:create_app", "--factory"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = Server(argv, _server_env(state_dir, port), state_dir, state_dir / f"{kind}-api.log")
    url = f"http://127.0.0.1:{port}"
    body = make_payloads(1, seed=1)[0]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            server.stop()
            raise FraudGuardError(f"the {kind} API exited with code {server.proc.returncode} (see {server.log})")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.post(f"{url}/v1/score", content=body, headers={"x-api-key": API_KEY}, timeout=5)
            if r.status_code == 200:
                return server, url
        time.sleep(0.3)
    server.stop()
    raise FraudGuardError(f"the {kind} API did not answer POST /v1/score within {timeout_s:.0f}s (see {server.log})")


def load_server(
    kind: str, state_dir: Path, requests: int, concurrency: int, *, budget_s: float, record: bool = False
) -> dict[str, Any]:
    """Warm a fresh server up, then measure at ``concurrency``; the loadtest summary.

    The warm-up (``concurrency`` x 2 requests) doubles as a probe: the measured run sends
    ``requests``, or fewer when the probe's rate says that would take over ``budget_s``
    (a loaded machine would otherwise need an hour); the summary says how many it sent.
    """
    from fraudguard.cli.loadtest import make_payloads, run_load

    warmup = 2 * concurrency
    server, url = start_server(kind, state_dir)
    try:
        payloads = make_payloads(requests + warmup, seed=7)
        probe = asyncio.run(run_load(url, payloads[:warmup], concurrency, api_key=API_KEY, record=record))
        rate = probe.summary()["throughput_rps"] or 1.0
        n = max(concurrency, min(requests, int(rate * budget_s)))
        result = asyncio.run(run_load(url, payloads[warmup : warmup + n], concurrency, api_key=API_KEY, record=record))
    finally:
        server.stop()
    return {**result.summary(), "record": record, "warmup_rps": rate, "requests_asked": requests}


def run_api(
    state_dir: Path, *, requests: int, naive_requests: int, concurrency: int = 200, budget_s: float = 60.0
) -> dict[str, Any]:
    """The real API (what-if and recorded) and the naive server under the same load; ratios."""
    real = load_server("fraudguard", state_dir, requests, concurrency, budget_s=budget_s)
    recorded = load_server("fraudguard", state_dir, requests, concurrency, budget_s=budget_s, record=True)
    naive = load_server("naive", state_dir, naive_requests, concurrency, budget_s=budget_s)
    real_p99, naive_p99 = real["latency_ms"]["p99"], naive["latency_ms"]["p99"]
    return {
        "concurrency": concurrency,
        "fraudguard": real,
        "fraudguard_record": recorded,
        "naive": naive,
        "rps": real["throughput_rps"],
        "p99_ms": real_p99,
        "ratio_vs_naive": (real["throughput_rps"] / naive["throughput_rps"]) if naive["throughput_rps"] else None,
        "p99_ratio_naive_over_fraudguard": (naive_p99 / real_p99) if real_p99 and naive_p99 else None,
        "note": (
            "target lines use what-if scoring (record=false, the loadtest default); record=true (card state "
            "updated in memory, one feature pass per micro-batch) is in fraudguard_record; no broker or "
            "database behind the API; the load client shares the cores"
        ),
    }
