"""Benchmark 5: the Spark Structured Streaming engine on ``local[2]``, same data as the local engine.

The topic is pre-filled, then the Spark engine runs with the local engine's sinks
(PostgreSQL, Parquet, Kafka predictions + alerts) plus a counting sink, the set's ledger
(written after every other sink flushed), that stops the query once every row has been
written. Two rates are reported: the steady rate between
the end of the first micro-batch and the end of the last (the first one pays for the
Python workers' imports), and the overall rate including the session start.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from fraudguard.bench.engine import count_outputs
from fraudguard.bench.env import BenchEnv, Payloads
from fraudguard.io.sinks.base import PredictionBatch, SinkSet


class CountingSink:
    """A :class:`~fraudguard.io.sinks.base.Sink` that counts rows and stops the query at ``target``."""

    name = "counter"

    def __init__(self, target: int, stop: threading.Event) -> None:
        self.target = target
        self.stop = stop
        self.rows = 0
        self._pending = 0
        self.flushes: list[tuple[float, int]] = []
        """(time, rows written so far) at the end of each micro-batch."""

    def setup(self) -> None:
        pass

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        self._pending += len(batch)

    def flush(self) -> None:
        self.rows += self._pending
        self._pending = 0
        self.flushes.append((time.perf_counter(), self.rows))
        if self.rows >= self.target:
            self.stop.set()

    def close(self) -> None:
        pass

    def steady_rate(self) -> float | None:
        """Rows/s from the end of the first micro-batch to the end of the last."""
        if len(self.flushes) < 2:
            return None
        (t0, r0), (t1, r1) = self.flushes[0], self.flushes[-1]
        return (r1 - r0) / (t1 - t0) if t1 > t0 else None


def run_spark(
    env: BenchEnv, payloads: Payloads, *, max_offsets_per_trigger: int, timeout_s: float, master: str = "local[2]"
) -> dict[str, Any]:
    """Run the Spark engine over a pre-filled topic until every row is written (or ``timeout_s``)."""
    from fraudguard.engines.spark.run import default_sinks, run_spark_engine

    settings = env.settings(env.fresh_schema("spark"))
    env.fill(settings.topic_transactions, payloads)
    engine_sinks = default_sinks(settings, env.bootstrap, settings.database_dsn or "")
    engine_sinks.setup()
    stop = threading.Event()
    counter = CountingSink(len(payloads), stop)
    sinks = SinkSet(engine_sinks.sinks, engine_sinks.dlq, ledger=counter)  # counts once every other sink has the batch
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    t0 = time.perf_counter()
    try:
        stats = run_spark_engine(
            settings,
            master=master,
            trigger="500 milliseconds",
            max_offsets_per_trigger=max_offsets_per_trigger,
            duration=timeout_s,
            sinks=sinks,
            stop=stop,
            freeze_heap=True,
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    seconds = time.perf_counter() - t0
    first_at = counter.flushes[0][0] - t0 if counter.flushes else None
    return {
        "master": master,
        "source": stats.source,
        "rows": counter.rows,
        "sent": len(payloads),
        "batches": stats.batches,
        "max_offsets_per_trigger": max_offsets_per_trigger,
        "startup_s": round(stats.startup_s, 2),
        "first_batch_done_s": round(first_at, 2) if first_at is not None else None,
        "seconds": round(seconds, 2),
        "rows_s": counter.steady_rate(),
        "overall_rows_s": counter.rows / seconds if seconds > 0 else 0.0,
        **count_outputs(settings),
    }
