"""When each replayed row is sent: fixed rate or dataset pace, steady, in bursts, or late.

A schedule is a send order (a permutation of the rows, which are in event-time order)
and a send offset in seconds for each position; :func:`fraudguard.io.publish.publish`
sends on it. ``late`` holds a share of rows back by ``late_delay`` seconds of event time,
so they arrive after newer events (out of order), which exercises watermarks.
"""

from __future__ import annotations

import math
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


def _positive(value: float) -> bool:
    """True for a finite number above zero (NaN and infinity are not rates or periods)."""
    return math.isfinite(value) and value > 0


def check_schedule_options(
    *,
    tps: float | None,
    speed: float | None,
    mode: str,
    late_share: float,
    late_delay: float,
    burst_period: float,
) -> None:
    """Refuse replay options that cannot give a schedule; raises :class:`ConfigError`.

    Separate from :func:`make_schedule` so the CLI can reject a typo before it connects to
    the broker and reads a large file.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown --mode {mode!r}: expected one of {', '.join(MODES)}")
    if (tps is None) == (speed is None):
        raise ConfigError("give exactly one of --tps or --speed")
    if (tps is not None and not _positive(tps)) or (speed is not None and not _positive(speed)):
        raise ConfigError("--tps and --speed must be positive")
    if not 0.0 <= late_share <= 1.0:
        raise ConfigError(f"--late-share must be in [0, 1], got {late_share}")
    if not (math.isfinite(late_delay) and late_delay >= 0):
        raise ConfigError(f"--late-delay must not be negative, got {late_delay}")
    if mode == "burst" and not _positive(burst_period):
        raise ConfigError(f"--burst-period must be positive, got {burst_period}")


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
    check_schedule_options(
        tps=tps, speed=speed, mode=mode, late_share=late_share, late_delay=late_delay, burst_period=burst_period
    )
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
