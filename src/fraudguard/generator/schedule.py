"""When each replayed row is sent: fixed rate or dataset pace, steady, in bursts, or late.

A schedule is a send order (a permutation of the rows, which are in event-time order)
and a send offset in seconds for each position; :func:`fraudguard.io.publish.publish`
sends on it. ``late`` holds a share of rows back by ``late_delay`` seconds of event time,
so they arrive after newer events (out of order), which exercises watermarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudguard.errors import ConfigError

MODES: tuple[str, ...] = ("steady", "burst", "late")


@dataclass(frozen=True)
class Schedule:
    """Rows in send order and their send offsets (seconds from the start)."""

    order: np.ndarray
    offsets: np.ndarray
    late: np.ndarray
    """Boolean per row (in original order): held back by ``late`` mode."""


def make_schedule(
    event_us: np.ndarray,
    *,
    tps: float | None = None,
    speed: float | None = None,
    mode: str = "steady",
    late_share: float = 0.05,
    late_delay: float = 120.0,
    burst_period: float = 5.0,
    seed: int = 0,
) -> Schedule:
    """Plan a replay of rows with event times ``event_us`` (microseconds, sorted).

    ``tps`` sends at a fixed rate; ``speed`` at that multiple of the dataset's own pace.
    ``burst`` sends everything due in each ``burst_period`` at the period's start (same
    average rate, idle in between).
    """
    if mode not in MODES:
        raise ConfigError(f"unknown --mode {mode!r}: expected one of {', '.join(MODES)}")
    if (tps is None) == (speed is None):
        raise ConfigError("give exactly one of --tps or --speed")
    if (tps is not None and tps <= 0) or (speed is not None and speed <= 0):
        raise ConfigError("--tps and --speed must be positive")
    if not 0.0 <= late_share <= 1.0:
        raise ConfigError(f"--late-share must be in [0, 1], got {late_share}")
    if late_delay < 0:
        raise ConfigError(f"--late-delay must not be negative, got {late_delay}")
    n = len(event_us)
    late = np.zeros(n, dtype=bool)
    key = np.asarray(event_us, dtype=np.int64)
    if mode == "late" and n:
        late = np.random.default_rng(seed).random(n) < late_share
        key = key + np.where(late, int(late_delay * 1_000_000), 0)
    order = np.argsort(key, kind="stable")
    if tps is not None:
        offsets = np.arange(n, dtype=np.float64) / tps
    else:
        sent = key[order]
        offsets = (sent - (sent[0] if n else 0)) / 1e6 / float(speed)  # type: ignore[arg-type]
    if mode == "burst":
        offsets = np.floor(offsets / burst_period) * burst_period
    return Schedule(order=order, offsets=offsets, late=late)
