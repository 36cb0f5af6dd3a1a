"""Start, stop and steer the synthetic transaction generator from the API (dashboard controls).

A :class:`GeneratorController` runs the real generator (:mod:`fraudguard.generator`) in a
background thread that publishes to the ``transactions`` topic at the requested rate:
each tick generates the rows due since the last one, so the rate holds without a sleep
per message. Changing ``tps`` or ``fraud_rate`` while running restarts the generator
with the new settings (the seed advances, so no transaction id repeats).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from fraudguard.errors import ConfigError

log = logging.getLogger(__name__)

Source = Callable[[float, float, int], Iterator[list[bytes]]]
"""``source(tps, fraud_rate, seed)`` -> endless chunks of JSON transaction messages."""
MAX_TPS = 50_000.0


def default_source(tps: float, fraud_rate: float, seed: int) -> Iterator[list[bytes]]:
    """Chunks from :class:`fraudguard.generator.generation.TransactionGenerator`, as JSON messages.

    Simulated time runs 60x faster than the wall clock, so a few minutes of demo show a
    few hours of card activity (velocity windows fill up).
    """
    from fraudguard.generator.generation import GeneratorConfig, TransactionGenerator

    chunk = max(100, int(tps))
    gen = TransactionGenerator(
        GeneratorConfig(fraud_rate=fraud_rate, seed=seed, tps=tps, time_scale=60.0, chunk_size=chunk)
    )
    while True:
        for cols in gen.chunks(chunk):
            yield cols.encode()


class GeneratorController:
    """A generator thread publishing to Kafka, controlled by :meth:`configure`."""

    def __init__(self, producer: Any, topic: str, *, source: Source = default_source, tick_s: float = 0.1) -> None:
        self.producer, self.topic, self.source, self.tick_s = producer, topic, source, tick_s
        self.tps, self.fraud_rate = 100.0, 0.01
        self.sent = 0
        self.error: str | None = None
        self._seed = int(time.time())
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> dict[str, Any]:
        """What the dashboard shows."""
        return {
            "running": self.running,
            "tps": self.tps,
            "fraud_rate": self.fraud_rate,
            "sent": self.sent,
            "error": self.error,
        }

    def configure(
        self, *, running: bool | None = None, tps: float | None = None, fraud_rate: float | None = None
    ) -> dict[str, Any]:
        """Apply the requested changes (validated), restarting the thread when needed."""
        if tps is not None and not 0 < tps <= MAX_TPS:
            raise ConfigError(f"tps must be in (0, {MAX_TPS:g}], got {tps}")
        if fraud_rate is not None and not 0 <= fraud_rate <= 0.5:
            raise ConfigError(f"fraud_rate must be in [0, 0.5], got {fraud_rate}")
        with self._lock:
            changed = (tps is not None and tps != self.tps) or (
                fraud_rate is not None and fraud_rate != self.fraud_rate
            )
            self.tps = self.tps if tps is None else float(tps)
            self.fraud_rate = self.fraud_rate if fraud_rate is None else float(fraud_rate)
            want = self.running if running is None else running
            if self.running and (not want or changed):
                self._halt()
            if want and not self.running:
                self._launch()
        return self.status()

    def stop(self) -> None:
        with self._lock:
            self._halt()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
        self._thread = None

    def _launch(self) -> None:
        self._stop = threading.Event()
        self._seed += 1
        self.error = None
        self._thread = threading.Thread(
            target=self._run,
            args=(self._stop, self.tps, self.fraud_rate, self._seed),
            name="fraudguard-generator",
            daemon=True,
        )
        self._thread.start()

    def _run(self, stop: threading.Event, tps: float, fraud_rate: float, seed: int) -> None:
        buffer: list[bytes] = []
        try:
            chunks = self.source(tps, fraud_rate, seed)
            started, sent = time.monotonic(), 0
            while not stop.wait(self.tick_s):
                due = int((time.monotonic() - started) * tps) - sent
                while len(buffer) < due:
                    buffer.extend(next(chunks))
                for value in buffer[:due]:
                    self.producer.produce(self.topic, value)
                buffer = buffer[due:]
                sent += due
                self.sent += due
                self.producer.poll(0)
        except Exception as e:  # shown by GET /v1/generator
            self.error = f"{type(e).__name__}: {e}"
            log.exception("generator stopped")
