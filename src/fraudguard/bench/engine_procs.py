"""Benchmark 2b: engine processes side by side, each ``assign()``ed its share of the partitions.

One engine process is bound by its GIL to about one core. ``fraudguard stream --workers N``
runs N processes in a consumer group; the ``kafka`` benchmark measures exactly that on
Apache Kafka, but on Tansu group reads cap near 8.5k msg/s, so here each process is
``assign()``ed the partitions a settled group would give it (``p % N``) and the topic is
pre-filled, as in the one-process run. Every sink is on in every process. With in-process
state a card's state is exact (a card lives in one partition) while merchant aggregates
count only the process's own partitions, as under ``--workers N`` (see
``engines/local/rebalance.py``).

Each process is ``python -m fraudguard.bench.engine_procs`` (:func:`main`) with the
scenario's settings in its environment, speaking lines on stdin / stdout: it says
``ready`` once its engine is built, starts on ``go``, reports how many rows it consumed
every few milliseconds, and stops on ``stop``, which the benchmark sends once the reports
add up to every row. The run ends when each process finished its last batch (sinks
flushed, offsets committed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import IO, Any

from fraudguard.bench.env import BenchEnv, Payloads
from fraudguard.errors import FraudGuardError

REPORT_EVERY_S = 0.005


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Reporter(threading.Thread):
    """Says the consumed count every few ms; remembers when rows or commits last moved,
    which is when the process's last batch was done however late ``stop`` comes."""

    def __init__(self, stats: Any) -> None:
        super().__init__(daemon=True)
        self.stats, self.finished = stats, threading.Event()
        self.last_change, self._seen = time.time(), (-1, -1)

    def run(self) -> None:
        while not self.finished.is_set():
            now, seen = time.time(), (self.stats.consumed, self.stats.commits)
            if seen != self._seen:
                self._seen, self.last_change = seen, now
            _say(f"consumed {seen[0]}")
            time.sleep(REPORT_EVERY_S)


def _stop_on_line(stop: threading.Event) -> None:
    sys.stdin.readline()  # ``stop`` (or the benchmark gone: end of input)
    stop.set()


def main(argv: list[str]) -> None:
    """One engine process, ``python -m fraudguard.bench.engine_procs '[partitions]' BATCH``
    with the scenario's settings in its environment: build, wait for ``go``, run until
    ``stop``, report (see the module docstring)."""
    from fraudguard.bench.engine import bench_engine
    from fraudguard.config import load_settings

    partitions, batch = json.loads(argv[0]), int(argv[1])
    stop = threading.Event()
    engine = bench_engine(load_settings(), batch=batch, partitions=partitions, stop=stop)
    _say("ready")
    if sys.stdin.readline().strip() != "go":
        return
    threading.Thread(target=_stop_on_line, args=(stop,), daemon=True).start()
    start, cpu = time.time(), time.process_time()
    reporter = _Reporter(engine.stats)
    reporter.start()
    stats = engine.run()
    cpu_s = time.process_time() - cpu
    reporter.finished.set()
    reporter.join()
    _say("done " + json.dumps({"rows": stats.consumed, "start": start, "end": reporter.last_change, "cpu_s": cpu_s}))


class _Listener(threading.Thread):
    """Reads one process's lines as they come: ready, its latest consumed count, its result."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        super().__init__(daemon=True)
        self.proc, self.ready, self.closed = proc, threading.Event(), threading.Event()
        self.consumed = 0
        self.result: dict[str, Any] | None = None

    def run(self) -> None:
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        for line in stdout:
            if line.startswith("consumed "):
                self.consumed = int(line.split()[1])
            elif line.startswith("ready"):
                self.ready.set()
            elif line.startswith("done "):
                self.result = json.loads(line[5:])
        self.closed.set()

    def wait_for(self, what: threading.Event, deadline: float) -> None:
        while not what.wait(0.05):
            if self.closed.is_set() or time.monotonic() > deadline:
                raise FraudGuardError(
                    f"engine process {self.proc.pid} stopped or stalled (exit code {self.proc.poll()})"
                )


def _send(proc: subprocess.Popen[str], line: str) -> None:
    proc.stdin.write(line + "\n")  # type: ignore[union-attr]
    proc.stdin.flush()  # type: ignore[union-attr]


def run_engine_processes(
    env: BenchEnv, payloads: Payloads, *, processes: int, batch: int, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Pre-fill a topic with ``payloads``; ``processes`` engines drain it; rows/s, CPU and counts."""
    from fraudguard.bench.engine import count_outputs

    settings = env.settings(env.fresh_schema(f"engine{processes}p"))
    env.fill(settings.topic_transactions, payloads)
    shares = [list(range(settings.topic_partitions))[i::processes] for i in range(processes)]
    log = (settings.state_dir / "logs").resolve()
    log.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[str]] = []
    try:
        for i, share in enumerate(shares):
            with (log / f"bench-engine-{processes}p-{i}.log").open("w") as err:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "fraudguard.bench.engine_procs", json.dumps(share), str(batch)],
                        env={**os.environ, **settings.to_env()},
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        text=True,
                    )
                )
        listeners = [_Listener(p) for p in procs]
        deadline = time.monotonic() + timeout_s
        for listener in listeners:
            listener.start()
        for listener in listeners:
            listener.wait_for(listener.ready, deadline)
        for p in procs:
            _send(p, "go")
        while sum(listener.consumed for listener in listeners) < len(payloads):
            if time.monotonic() > deadline or any(listener.closed.is_set() for listener in listeners):
                got = sum(listener.consumed for listener in listeners)
                raise FraudGuardError(f"{processes} engine processes consumed {got:,} of {len(payloads):,}")
            time.sleep(REPORT_EVERY_S)
        for p in procs:
            _send(p, "stop")
        for listener in listeners:
            listener.wait_for(listener.closed, deadline)
        results = [listener.result for listener in listeners if listener.result is not None]
        if len(results) < processes:
            raise FraudGuardError(
                f"an engine process ended without its result (exit codes {[p.poll() for p in procs]})"
            )
    finally:
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    rows = sum(r["rows"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "path": f"{processes} processes, each assign()ed partitions p % {processes} of a pre-filled topic",
        "processes": processes,
        "partitions": shares,
        "rows": rows,
        "rows_per_process": [r["rows"] for r in results],
        "batch": batch,
        "seconds": round(seconds, 3),
        "rows_s": rows / seconds if seconds > 0 else 0.0,
        "cpu_us_per_tx_per_process": [round(r["cpu_s"] / r["rows"] * 1e6, 1) if r["rows"] else None for r in results],
        **count_outputs(settings),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
