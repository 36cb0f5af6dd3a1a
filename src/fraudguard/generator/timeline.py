"""Simulated time with a daily rhythm: more purchases at 6 pm than at 4 am.

Legitimate transactions are drawn uniformly in *activity* ("mass") and mapped to clock
time through the inverse of the cumulative daily intensity. One unit of mass is one
second of an average hour, so a day holds 86,400 units whatever its shape, and a stream
of ``r`` transactions per unit is ``r * 86,400`` transactions per simulated day.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

DAY_S = 86_400
US = 1_000_000
DAY_US = DAY_S * US
NIGHT_HOURS = (0, 5)
"""Night is 00:00-05:00 simulated time (the stolen-card scenario strikes then)."""


class Timeline:
    """Maps activity mass to microseconds since the epoch and back.

    ``hourly`` is the population's relative activity per hour of day (any positive
    scale); the start time fixes where mass 0 lies.
    """

    def __init__(self, hourly: np.ndarray, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        h = np.asarray(hourly, dtype=np.float64)
        h = h / h.mean()
        self._sec = np.arange(25, dtype=np.float64) * 3600.0
        self._cum = np.concatenate([[0.0], np.cumsum(h * 3600.0)])
        start_us = int(start.timestamp() * US)
        self._day0_us = start_us - start_us % DAY_US
        self.start_mass = self._mass_of_second(np.array([(start_us - self._day0_us) / US]))[0]

    def _mass_of_second(self, seconds: np.ndarray) -> np.ndarray:
        day = np.floor(seconds / DAY_S)
        return day * DAY_S + np.interp(seconds - day * DAY_S, self._sec, self._cum)

    def to_time_us(self, mass: np.ndarray) -> np.ndarray:
        """Microseconds since the epoch of each mass value (vectorized inverse CDF)."""
        m = np.asarray(mass, dtype=np.float64)
        day = np.floor(m / DAY_S)
        sec = day * DAY_S + np.interp(m - day * DAY_S, self._cum, self._sec)
        return self._day0_us + np.floor(sec * US).astype(np.int64)

    def to_mass(self, time_us: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_time_us`."""
        return self._mass_of_second((np.asarray(time_us, dtype=np.int64) - self._day0_us) / US)


def hour_of_day(time_us: np.ndarray) -> np.ndarray:
    """Simulated hour (0-23) of each time."""
    return (np.asarray(time_us) // (3600 * US)) % 24


def night_intervals(t0_us: int, t1_us: int) -> list[tuple[int, int]]:
    """The night stretches inside ``[t0_us, t1_us)`` as ``(start, end)`` pairs."""
    out: list[tuple[int, int]] = []
    day = t0_us - t0_us % DAY_US
    while day < t1_us:
        a = max(t0_us, day + NIGHT_HOURS[0] * 3600 * US)
        b = min(t1_us, day + NIGHT_HOURS[1] * 3600 * US)
        if b > a:
            out.append((a, b))
        day += DAY_US
    return out
