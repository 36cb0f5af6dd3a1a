"""CPU time per transaction per engine stage: what limits the engine, on a loaded machine too.

On a shared machine wall-clock rates say more about the neighbours than about the code, but
the CPU a thread spends is its own. The engine's parts are wrapped (no change to the
engine): the processor's ``process`` (features + models) and each sink's ``write`` +
``flush`` are timed with :func:`time.thread_time` on the thread that runs them; the loop
thread's total minus ``process`` is polling + decoding + bookkeeping. The PostgreSQL
backend's own CPU (parsing COPY, inserting, indexes, WAL) is read from its process, and the
whole Python process's CPU (including librdkafka's threads) from :func:`time.process_time`.
Everything is divided by the rows consumed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd


class StageClock:
    """Thread-CPU seconds summed per stage name (thread-safe: sinks run in a pool)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.backend_s: float | None = None
        """CPU of the PostgreSQL sink's server backend over its life (read when the sink closes)."""
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def us_per_row(self, rows: int) -> dict[str, float]:
        """Microseconds of CPU per row for each stage."""
        return {k: round(v * 1e6 / rows, 2) for k, v in self.seconds.items()} if rows else {}


class TimedProcessor:
    """The engine's ``Processor`` with ``process`` timed as stage ``features+models``."""

    def __init__(self, inner: Any, clock: StageClock) -> None:
        self.inner = inner
        self.clock = clock

    @property
    def version(self) -> str:
        return str(self.inner.version)

    def at_batch_boundary(self) -> bool:
        return bool(self.inner.at_batch_boundary())

    def process(self, frame: pd.DataFrame, partitions: Sequence[int]) -> pd.DataFrame:
        t0 = time.thread_time()
        try:
            return self.inner.process(frame, partitions)
        finally:
            self.clock.add("features+models", time.thread_time() - t0)

    def __getattr__(self, name: str) -> Any:  # warm, forget_cards, partition_state
        return getattr(self.inner, name)


class TimedSink:
    """A sink whose ``write`` and ``flush`` CPU is counted under ``sink:<name>``."""

    def __init__(self, inner: Any, clock: StageClock) -> None:
        self.inner = inner
        self.clock = clock
        self.name = str(inner.name)

    def __getattr__(self, name: str) -> Any:  # producer (delivery groups sinks by it), counters
        return getattr(self.inner, name)

    def _timed(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.clock.add(f"sink:{self.name}", time.thread_time() - t0)

    def setup(self) -> None:
        self.inner.setup()

    def write(self, batch: Any, *, batch_id: str) -> None:
        self._timed(self.inner.write, batch, batch_id=batch_id)

    def flush(self) -> None:
        self._timed(self.inner.flush)

    def close(self) -> None:
        cpu = backend_cpu_s(self.inner)  # before the backend exits with its connection
        if cpu is not None:
            self.clock.backend_s = cpu
        self.inner.close()


def instrument(engine: Any) -> StageClock:
    """Wrap ``engine``'s processor and sinks in place; return the clock they report to."""
    clock = StageClock()
    engine.processor = TimedProcessor(engine.processor, clock)
    engine.sinks.sinks = [TimedSink(s, clock) for s in engine.sinks.sinks]
    return clock


def backend_cpu_s(sink: Any) -> float | None:
    """CPU seconds of the server backend behind a PostgreSQL sink's connection (None: not one, not local)."""
    import psutil

    conn = getattr(sink, "_conn", None)
    if conn is None or getattr(sink, "name", "") != "postgres":
        return None
    try:
        times = psutil.Process(conn.info.backend_pid).cpu_times()
    except (psutil.Error, AttributeError):
        return None
    return float(times.user + times.system)


def stage_report(clock: StageClock, rows: int, loop_cpu_s: float, process_cpu_s: float) -> dict[str, Any]:
    """µs of CPU per transaction: per stage, the loop thread, the whole process, PostgreSQL's backend."""
    per = clock.us_per_row(rows)
    loop_us = loop_cpu_s * 1e6 / rows if rows else 0.0
    out: dict[str, Any] = {
        "poll+decode+loop": round(loop_us - per.get("features+models", 0.0), 2),
        **per,
        "python_process_total": round(process_cpu_s * 1e6 / rows, 2) if rows else 0.0,
    }
    if clock.backend_s is not None and rows:
        out["postgres_backend"] = round(clock.backend_s * 1e6 / rows, 2)
    return out
