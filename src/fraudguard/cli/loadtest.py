"""``fraudguard loadtest``: concurrent POST /v1/score with wall-clock throughput and latency percentiles.

Throughput is completed requests divided by the elapsed wall-clock time of the run, never
an estimate from summed latencies. At most ``--concurrency`` requests are in flight: that
many worker tasks each send their next request when the previous one has answered.
Payloads are realistic transactions from the generator, one per request, all distinct.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags


@dataclass
class LoadResult:
    """What a run measured; ``latencies_s`` holds successful requests only."""

    requests: int
    concurrency: int
    elapsed_s: float
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies_s) * 1000
        ok = len(self.latencies_s)

        def pct(q: float) -> float | None:
            return round(float(np.percentile(lat, q)), 2) if ok else None

        return {
            "requests": self.requests,
            "concurrency": self.concurrency,
            "ok": ok,
            "errors": dict(self.errors),
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(ok / self.elapsed_s, 1) if self.elapsed_s > 0 else None,
            "latency_ms": {
                "p50": pct(50),
                "p95": pct(95),
                "p99": pct(99),
                "max": round(float(lat.max()), 2) if ok else None,
            },
        }


def make_payloads(n: int, seed: int, fraud_rate: float = 0.02) -> list[bytes]:
    """``n`` distinct generated transactions as JSON bodies."""
    from fraudguard.generator.generation import GeneratorConfig, TransactionGenerator

    gen = TransactionGenerator(
        GeneratorConfig(
            fraud_rate=fraud_rate, seed=seed, customers=5_000, merchants=1_000, chunk_size=max(100, min(n, 50_000))
        )
    )
    out: list[bytes] = []
    for cols in gen.chunks(n):
        out.extend(cols.encode())
    return out


def _kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError):  # refused, reset, closed mid-response (ConnectionError is one)
        return "connection"
    try:
        import httpx
    except ImportError:  # pragma: no cover
        return f"other:{type(exc).__name__}"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.TransportError):
        return "connection"
    return f"other:{type(exc).__name__}"


class _Connection(asyncio.Protocol):
    """One persistent HTTP/1.1 connection: one request in flight, responses parsed by httptools.

    A general client (httpx) spent ~5 ms of CPU per request at 200 connections on this
    machine, more than the server it measured; this costs a few tens of microseconds, so
    the numbers describe the server. Only the status is kept; the body is read and dropped.
    """

    def __init__(self) -> None:
        import httptools

        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[int] | None = None
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except Exception as e:  # malformed response: this connection is done
            self._fail(ConnectionError(f"bad HTTP response: {e}"))

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.keep_alive = False
        self._fail(exc or ConnectionError("connection closed before the response"))

    def _fail(self, exc: BaseException) -> None:
        self.keep_alive = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    async def request(self, raw: bytes) -> int:
        """Send one complete request; the response's status code."""
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self._waiter


def _request_head(url: str, api_key: str | None, record: bool) -> tuple[str, int, bytes]:
    """(host, port, request line and headers up to Content-Length) for POST /v1/score."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise typer.BadParameter(f"--url must be http://host[:port], got {url!r}")
    port = parts.port or 80
    path = parts.path.rstrip("/") + "/v1/score?record=" + ("true" if record else "false")
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\nContent-Type: application/json\r\n"
    if api_key:
        head += f"X-API-Key: {api_key}\r\n"
    return parts.hostname, port, head.encode("latin-1")


async def run_load(
    url: str,
    payloads: list[bytes],
    concurrency: int,
    *,
    api_key: str | None = None,
    record: bool = False,
    timeout_s: float = 30.0,
) -> LoadResult:
    """Send every payload once with at most ``concurrency`` in flight; measure each and the whole.

    Each of ``concurrency`` workers owns one keep-alive connection (HTTP/1.1, reopened when
    the server closes it or a request fails) and sends its next request when the previous
    one has answered. Latency is from just before the request is written (including a
    reconnect, if one was needed) to the end of the response.
    """
    host, port, head = _request_head(url, api_key, record)
    loop = asyncio.get_running_loop()
    result = LoadResult(requests=len(payloads), concurrency=concurrency, elapsed_s=0.0)
    it = iter(payloads)

    async def worker() -> None:
        conn: _Connection | None = None
        for body in it:
            raw = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(timeout_s):
                    if conn is None or not conn.keep_alive:
                        _, conn = await loop.create_connection(_Connection, host, port)
                    status = await conn.request(raw)
            except Exception as e:  # every failure is counted by kind, none stops the run
                result.errors[_kind(e)] += 1
                if conn is not None and conn.transport is not None:
                    conn.transport.close()
                conn = None
                continue
            if status == 200:
                result.latencies_s.append(time.perf_counter() - t0)
            else:
                result.errors[f"http_{status}"] += 1
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    result.elapsed_s = time.perf_counter() - started
    return result


def _run(coro: Any) -> Any:
    """``asyncio.run`` on uvloop when installed (a cheaper client leaves more CPU to the server)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    return uvloop.run(coro)


@app.command()
@clean_errors
def loadtest(
    url: str = typer.Option("http://127.0.0.1:8000", help="Base URL of the API."),
    requests: int = typer.Option(10_000, min=1, help="Requests to send (one transaction each)."),
    concurrency: int = typer.Option(200, min=1, max=10_000, help="Requests in flight at most."),
    api_key: str | None = typer.Option(None, help="X-API-Key to send (default FRAUDGUARD_API_KEY)."),
    record: bool = typer.Option(
        False, "--record/--what-if", help="Record transactions in card state (default: what-if)."
    ),
    seed: int | None = typer.Option(None, help="Generator seed (default: time-based, so ids differ per run)."),
    timeout: float = typer.Option(30.0, help="Per-request timeout in seconds.", min=0.001),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Load-test POST /v1/score and report wall-clock throughput, p50/p95/p99/max and errors by kind."""
    settings = settings_from_flags()
    key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    payloads = make_payloads(requests, seed if seed is not None else int(time.time()))
    result = _run(run_load(url, payloads, concurrency, api_key=key, record=record, timeout_s=timeout))
    s = result.summary()
    if as_json:
        print(json.dumps(s))
    else:
        lat = s["latency_ms"]
        console.print(
            f"{s['ok']:,}/{s['requests']:,} ok in {s['elapsed_s']:.2f}s wall clock -> {s['throughput_rps']} req/s "
            f"(concurrency {concurrency}); latency ms p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}"
        )
        if s["errors"]:
            console.print(f"errors: {s['errors']}", style="red")
    if s["ok"] == 0:
        raise typer.Exit(1)
