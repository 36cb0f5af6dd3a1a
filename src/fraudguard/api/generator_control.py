"""Start, stop and steer the synthetic transaction generator from the API (dashboard controls).

A :class:`GeneratorController` runs the real generator (:mod:`fraudguard.generator`) in a
background thread that publishes to the ``transactions`` topic at the requested rate:
each tick generates the rows due since the last one, so the rate holds without a sleep
per message. Changing ``tps``, ``fraud_rate`` or the drift while running restarts the
generator with the new settings (the seed advances, so no transaction id repeats).

``drift`` is the CLI's ``--drift`` (:mod:`fraudguard.generator.drift`): ``amount[:F]``,
``category[:S]``, ``fraud-mix[:F]``, ramping from nothing at the (re)start to full strength
after ``drift_days`` simulated days (an endless stream has no "end of run" to ramp to).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fraudguard.errors import ConfigError
from fraudguard.generator.drift import check_drifts, parse_drift

log = logging.getLogger(__name__)

MAX_TPS = 50_000.0
MAX_DRIFT_DAYS = 365.0


@dataclass(frozen=True)
class GeneratorSettings:
    """What the generator thread runs with; a change restarts it."""

    tps: float = 100.0
    fraud_rate: float = 0.01
    drift: tuple[str, ...] = ()
    """Canonical ``kind:strength`` texts (see :func:`canonical_drift`); empty = a steady stream."""
    drift_days: float = 1.0


Source = Callable[[GeneratorSettings, int], Iterator[list[bytes]]]
"""``source(settings, seed)`` -> endless chunks of JSON transaction messages."""


def canonical_drift(texts: Sequence[str]) -> tuple[str, ...]:
    """``["amount", "category:0.3"]`` -> ``("amount:2", "category:0.3")``; :class:`ConfigError` if malformed."""
    drifts = tuple(parse_drift(t) for t in texts)
    return tuple(f"{kind}:{strength:g}" for kind, strength in check_drifts(drifts).items())


def default_source(settings: GeneratorSettings, seed: int) -> Iterator[list[bytes]]:
    """Chunks from :class:`fraudguard.generator.generation.TransactionGenerator`, as JSON messages.

    Simulated time runs 60x faster than the wall clock, so a few minutes of demo show a
    few hours of card activity (velocity windows fill up) and a one-day drift ramp takes
    24 minutes.
    """
    from fraudguard.generator.generation import GeneratorConfig, TransactionGenerator

    tps = settings.tps
    chunk = max(100, int(tps))
    drift = tuple(parse_drift(d) for d in settings.drift)
    gen = TransactionGenerator(
        GeneratorConfig(
            fraud_rate=settings.fraud_rate,
            seed=seed,
            tps=tps,
            time_scale=60.0,
            chunk_size=chunk,
            drift=drift,
            drift_days=settings.drift_days if drift else None,
        )
    )
    while True:
        for cols in gen.chunks(chunk):
            yield cols.encode()


class GeneratorController:
    """A generator thread publishing to Kafka, controlled by :meth:`configure`."""

    def __init__(self, producer: Any, topic: str, *, source: Source = default_source, tick_s: float = 0.1) -> None:
        self.producer, self.topic, self.source, self.tick_s = producer, topic, source, tick_s
        self.settings = GeneratorSettings()
        self.sent = 0
        self.error: str | None = None
        self._seed = int(time.time())
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def tps(self) -> float:
        return self.settings.tps

    @property
    def fraud_rate(self) -> float:
        return self.settings.fraud_rate

    def status(self) -> dict[str, Any]:
        """What the dashboard shows."""
        s = self.settings
        return {
            "running": self.running,
            "tps": s.tps,
            "fraud_rate": s.fraud_rate,
            "drift": list(s.drift),
            "drift_days": s.drift_days,
            "sent": self.sent,
            "error": self.error,
        }

    def configure(
        self,
        *,
        running: bool | None = None,
        tps: float | None = None,
        fraud_rate: float | None = None,
        drift: Sequence[str] | None = None,
        drift_days: float | None = None,
    ) -> dict[str, Any]:
        """Apply the requested changes (validated), restarting the thread when needed.

        ``drift=[]`` returns to a steady stream; ``None`` keeps the current drift.
        """
        if tps is not None and not 0 < tps <= MAX_TPS:
            raise ConfigError(f"tps must be in (0, {MAX_TPS:g}], got {tps}")
        if fraud_rate is not None and not 0 <= fraud_rate <= 0.5:
            raise ConfigError(f"fraud_rate must be in [0, 0.5], got {fraud_rate}")
        if drift_days is not None and not (math.isfinite(drift_days) and 0 < drift_days <= MAX_DRIFT_DAYS):
            raise ConfigError(f"drift_days must be in (0, {MAX_DRIFT_DAYS:g}], got {drift_days}")
        changes: dict[str, Any] = {}
        if tps is not None:
            changes["tps"] = float(tps)
        if fraud_rate is not None:
            changes["fraud_rate"] = float(fraud_rate)
        if drift is not None:
            changes["drift"] = canonical_drift(drift)
        if drift_days is not None:
            changes["drift_days"] = float(drift_days)
        with self._lock:
            new = replace(self.settings, **changes)
            changed = new != self.settings
            self.settings = new
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
            args=(self._stop, self.settings, self._seed),
            name="fraudguard-generator",
            daemon=True,
        )
        self._thread.start()

    def _run(self, stop: threading.Event, settings: GeneratorSettings, seed: int) -> None:
        buffer: list[bytes] = []
        tps = settings.tps
        try:
            chunks = self.source(settings, seed)
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
