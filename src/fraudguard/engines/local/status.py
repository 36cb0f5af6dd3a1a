"""Engine counters, latency percentiles and the periodic status line.

Latency is measured from the broker timestamp of the transaction message (set when it was
produced, with ``CreateTime``) to the moment its batch was scored: the decision latency a
card network would see. It includes time waiting in the topic, so a lagging engine shows
it. Clocks: producer and engine on one machine here; across machines it needs NTP.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


class LatencyWindow:
    """The last ``capacity`` latencies (ms); percentiles over them."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._size = 0
        self.capacity = capacity

    def add(self, produced_at: pd.Series, decided_at: pd.Timestamp) -> None:
        """Add one batch: ``decided_at - produced_at`` for rows with a known produce time."""
        values = produced_at.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        known = ~np.isnat(values)
        if not known.any():
            return
        ms = (np.datetime64(decided_at.tz_convert(None).to_datetime64(), "ns") - values[known]).astype(np.int64) / 1e6
        self._chunks.append(ms)
        self._size += ms.size
        while self._chunks and self._size - self._chunks[0].size >= self.capacity:
            self._size -= self._chunks.popleft().size

    def percentiles(self, qs: tuple[float, ...] = (50, 95, 99)) -> tuple[float, ...]:
        """Percentiles in ms (NaN when empty)."""
        if not self._chunks:
            return tuple(float("nan") for _ in qs)
        allv = np.concatenate(list(self._chunks))
        return tuple(float(v) for v in np.percentile(allv, qs))

    def reset(self) -> None:
        self._chunks.clear()
        self._size = 0


@dataclass
class EngineStats:
    """Running totals of one engine process."""

    consumed: int = 0
    scored: int = 0
    alerts: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    extras_dropped: int = 0
    batches: int = 0
    commits: int = 0
    retries: int = 0
    model_switches: int = 0
    model_version: str = ""
    lag: int = 0
    broker_outages: int = 0
    broker_down_since: float | None = None
    """``time.monotonic()`` when the current broker outage began; ``None`` while connected."""
    resubscribes: int = 0
    latency: LatencyWindow = field(default_factory=LatencyWindow)
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, object]:
        """Plain values (for logs, the demo and tests)."""
        p50, p95, p99 = self.latency.percentiles()
        return {
            "consumed": self.consumed,
            "scored": self.scored,
            "alerts": self.alerts,
            "dead_letters": self.dead_letters,
            "duplicates": self.duplicates,
            "extras_dropped": self.extras_dropped,
            "batches": self.batches,
            "commits": self.commits,
            "retries": self.retries,
            "model_switches": self.model_switches,
            "model_version": self.model_version,
            "lag": self.lag,
            "broker_outages": self.broker_outages,
            "broker_down": self.broker_down_since is not None,
            "resubscribes": self.resubscribes,
            "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
        }


class StatusReporter:
    """Prints one status line every ``every_s`` seconds: rate, lag, latency, totals."""

    def __init__(
        self, stats: EngineStats, every_s: float = 5.0, printer: Callable[[str], None] | None = None, label: str = ""
    ) -> None:
        self.stats = stats
        self.every_s = every_s
        self.label = label
        self._printer = printer
        self._last_t = time.monotonic()
        self._last_scored = 0

    def line(self) -> str:
        """The status text (rich markup)."""
        now = time.monotonic()
        s = self.stats
        rate = (s.scored - self._last_scored) / max(now - self._last_t, 1e-9)
        p50, p95, p99 = s.latency.percentiles()
        self._last_t, self._last_scored = now, s.scored
        lat = "-" if np.isnan(p50) else f"{p50:,.0f}/{p95:,.0f}/{p99:,.0f} ms"
        # never "lag 0" while disconnected: the lag is unknown then
        lag = (
            f"[bold red]broker unreachable for {now - s.broker_down_since:,.0f}s[/]"
            if s.broker_down_since is not None
            else f"lag {s.lag:,}"
        )
        return (
            f"{self.label}[bold]{rate:,.0f} tx/s[/] scored {s.scored:,} alerts {s.alerts:,} "
            f"dlq {s.dead_letters:,} dup {s.duplicates:,} {lag} "
            f"latency p50/p95/p99 {lat} model {s.model_version or '-'} retries {s.retries}"
        )

    def maybe_print(self, force: bool = False) -> None:
        """Print the line if ``every_s`` has passed (or ``force``)."""
        if self._printer is None:
            return
        if force or time.monotonic() - self._last_t >= self.every_s:
            self._printer(self.line())
            self.stats.latency.reset()
