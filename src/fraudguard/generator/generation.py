"""The transaction stream: legitimate behaviour plus fraud incidents, chunk by chunk.

Each chunk covers the next stretch of simulated time. Legitimate purchases are drawn in
one vectorized pass (who shops at this hour, which card, category, merchant, channel,
amount); fraud incidents come from :mod:`.scenarios` and :mod:`.long_scenarios` in the
proportions of :mod:`.mix`, and long-horizon windows relabel some purchases as fraud.
Optional drift (:mod:`.drift`) shifts the stream progressively. A chunk is
sorted by event time and every card's times strictly increase, so a consumer keyed by
card sees each card's history in order. Everything derives from one seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from fraudguard.errors import ConfigError
from fraudguard.generator.columns import Columns
from fraudguard.generator.drift import Drift, check_drifts, progress, scale_amounts, shift_categories
from fraudguard.generator.long_scenarios import BREACH, INFLATED, Windows
from fraudguard.generator.mix import FraudMix, draw_fraud, has_short, long_rows, parse_scenarios
from fraudguard.generator.population import (
    CAT,
    CATEGORY_AMOUNT_FACTOR,
    CATEGORY_ONLINE,
    CHRONOTYPE_SHARE,
    CITIES,
    HOURLY_PROFILE,
    N_CATEGORIES,
    Population,
    build_population,
)
from fraudguard.generator.scenarios import ATM, LEGIT, ONLINE, POS, SCENARIOS, Events
from fraudguard.generator.timeline import DAY_S, DAY_US, Timeline, hour_of_day

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
MAX_FRAUD_RATE = 0.5
WARM_DAYS = 45
"""Long incidents and windows are started this far before the start (they last up to ~44 days)."""
WARM_MAX_ROWS = 50_000
"""Cap on warm-start fraud rows (real-time streams pack millions of rows in a simulated day)."""


@dataclass(frozen=True)
class GeneratorConfig:
    """What to simulate.

    ``tps`` and ``time_scale`` together fix how dense simulated time is: at ``tps``
    messages per wall-clock second, ``time_scale`` simulated seconds pass per wall-clock
    second. Without ``time_scale`` the population sets the density (each customer makes
    about 3 purchases a simulated day), which is what training data wants.

    ``scenarios`` selects fraud scenarios (``all``, ``short``, ``long`` or names, see
    :func:`fraudguard.generator.mix.parse_scenarios`). ``drift`` ramps over ``drift_days``
    simulated days, or over the rows of the first :meth:`TransactionGenerator.chunks` call.
    """

    fraud_rate: float = 0.01
    seed: int = 0
    customers: int = 10_000
    merchants: int = 2_000
    start: datetime = DEFAULT_START
    tps: float | None = None
    time_scale: float | None = None
    chunk_size: int = 20_000
    scenarios: tuple[str, ...] | str = SCENARIOS
    drift: tuple[Drift, ...] = ()
    drift_days: float | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.fraud_rate <= MAX_FRAUD_RATE):
            raise ConfigError(f"fraud_rate must be in [0, {MAX_FRAUD_RATE}], got {self.fraud_rate}")
        if self.time_scale is not None and not (math.isfinite(self.time_scale) and self.time_scale > 0):
            raise ConfigError(f"time_scale must be positive, got {self.time_scale}")
        if self.tps is not None and not (math.isfinite(self.tps) and self.tps >= 0):
            raise ConfigError(f"tps must not be negative, got {self.tps}")
        if self.chunk_size < 100:
            raise ConfigError(f"chunk_size must be at least 100, got {self.chunk_size}")
        object.__setattr__(self, "scenarios", parse_scenarios(self.scenarios))
        check_drifts(self.drift)
        if self.drift_days is not None and not (math.isfinite(self.drift_days) and self.drift_days > 0):
            raise ConfigError(f"drift_days must be positive, got {self.drift_days}")


class TransactionGenerator:
    """Builds the population once, then yields transaction chunks in time order.

    Fraud incidents that run past a chunk's end wait in ``_pending`` for the next chunk.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.pop: Population = build_population(self.rng, config.customers, config.merchants)
        pop = self.pop
        chrono_rate = np.array(
            [
                pop.rate_per_day[pop.chrono_start[c] : pop.chrono_start[c + 1]].sum()
                for c in range(len(CHRONOTYPE_SHARE))
            ]
        )
        hourly_by_chrono = chrono_rate[:, None] * HOURLY_PROFILE  # (chronotype, hour)
        self._chrono_cum = np.cumsum(hourly_by_chrono.T, axis=1)
        self._chrono_cum /= self._chrono_cum[:, -1:]
        self._rate_cum0 = np.concatenate([[0.0], pop.rate_cum])
        self.timeline = Timeline(hourly_by_chrono.sum(axis=0), config.start)
        if config.tps and config.time_scale:
            self.events_per_mass = config.tps / config.time_scale
        else:
            self.events_per_mass = pop.daily_rate / DAY_S
        self._mass = self.timeline.start_mass
        self._pending = Events.empty()
        self._rows = 0
        self._fraud_emitted = 0
        self._target = 0.0
        self.drift = check_drifts(config.drift)
        self.mix = FraudMix(config.scenarios, self.drift.get("fraud-mix"))  # type: ignore[arg-type]
        self._start_us = int(self.timeline.to_time_us(np.array([self._mass]))[0])
        # the ramp runs in activity mass (proportional to rows), not clock time: a run that
        # starts at a quiet hour must not finish its ramp early
        self._drift_span = None if config.drift_days is None else config.drift_days * DAY_S
        windowed = self.mix.base[BREACH] > 0 or self.mix.base[INFLATED] > 0
        self.windows = Windows(self.pop, self.rows_per_day) if windowed else None
        self._warm_start()

    def _warm_start(self) -> None:
        """Start long incidents and windows as if the stream had run for ``WARM_DAYS`` already.

        Their share of the fraud is then steady from the first day instead of building up
        over weeks; events before the start are dropped.
        """
        t1 = self._start_us
        t0 = t1 - WARM_DAYS * DAY_US
        per_day = self.config.fraud_rate * self.rows_per_day
        rows = min(long_rows(self.rng, self.mix.base, per_day * WARM_DAYS), WARM_MAX_ROWS)
        if rows:
            ev = draw_fraud(self.pop, self.rng, rows, t0, t1, self.mix.base, long=True)
            self._pending = ev.take(ev.time_us >= t1)
        if self.windows is not None:
            self.windows.open(self.rng, t0, t1, self.mix.base[BREACH] * per_day, self.mix.base[INFLATED] * per_day)

    @property
    def rows_per_day(self) -> float:
        """Transactions per simulated day (on average over the daily rhythm)."""
        return self.events_per_mass * DAY_S

    @property
    def time_scale(self) -> float | None:
        """Simulated seconds per wall-clock second at the configured ``tps`` (None without tps)."""
        return None if not self.config.tps else self.config.tps / self.events_per_mass

    def chunks(self, count: int) -> Iterator[Columns]:
        """Yield ``count`` transactions in chunks of at most ``chunk_size`` rows, in time order."""
        if count < 0:
            raise ConfigError(f"count must not be negative, got {count}")
        if self._drift_span is None:  # the ramp spans this run
            self._drift_span = max(count, 1) / self.events_per_mass
        done = 0
        while done < count:
            n = min(self.config.chunk_size, count - done)
            yield self._chunk(n)
            done += n

    def _chunk(self, n: int) -> Columns:
        m0, m1 = self._mass, self._mass + n / self.events_per_mass
        t0, t1 = (int(v) for v in self.timeline.to_time_us(np.array([m0, m1])))
        self._mass = m1
        # Fraud is accounted on what is emitted: incidents drawn now whose later events fall
        # beyond this window leave a shortfall that the next chunks make up, so the rate
        # holds even when a chunk spans only seconds of simulated time.
        p = self._progress(np.array([(t0 + t1) // 2]))[0] if self.drift else 0.0
        rate = min(self.config.fraud_rate * self.mix.rate_factor(p), MAX_FRAUD_RATE)
        weights = self.mix.weights(p)
        self._target += rate * n
        target = round(self._target) if self.mix.mix_drift else round(self.config.fraud_rate * (self._rows + n))
        # long incidents start at a steady rate; the short ones make up the rest of the rate
        k = long_rows(self.rng, weights, rate * n)
        pending = Events.concat([self._pending, draw_fraud(self.pop, self.rng, k, t0, t1, weights, long=True)])
        relabelled, legit = 0, None
        if self.windows is not None:
            # windows relabel purchases: draw the purchases first so the short scenarios
            # make up exactly what the windows leave of this chunk's target
            per_day = rate * self.rows_per_day
            self.windows.open(self.rng, t0, t1, weights[BREACH] * per_day, weights[INFLATED] * per_day)
            legit = self._legit(n, m0, m1)
            relabelled = self.windows.apply(self.rng, legit)
        already_due = int(np.count_nonzero(pending.time_us < t1)) + relabelled
        need = min(max(target - self._fraud_emitted - already_due, 0), n) if has_short(weights) else 0
        pending = Events.concat([pending, draw_fraud(self.pop, self.rng, need, t0, t1, weights)])
        due = pending.time_us < t1
        fraud, self._pending = pending.take(due), pending.take(~due)
        if len(fraud) > n:
            # more incidents fell due than the chunk holds (very high fraud rates): the latest
            # ones slip to the very start of the next window, keeping their order, so time
            # never runs backwards across chunks
            fraud = fraud.take(np.argsort(fraud.time_us, kind="stable"))
            fraud, extra = fraud.take(np.arange(n)), fraud.take(np.arange(n, len(fraud)))
            extra.time_us = t1 + np.arange(len(extra), dtype=np.int64)
            self._pending = Events.concat([extra, self._pending])
        self._fraud_emitted += len(fraud)
        if legit is None:
            legit = self._legit(n - len(fraud), m0, m1)
        else:
            legit = _make_room(self.rng, legit, len(fraud))
            self._fraud_emitted += int(np.count_nonzero(legit.scenario != LEGIT))
        events = Events.concat([legit, fraud])
        events = events.take(np.argsort(events.time_us, kind="stable"))
        if "amount" in self.drift:
            p_ev = self._progress(events.time_us)
            events.amount = scale_amounts(events.amount, events.channel == ATM, p_ev, self.drift["amount"])
        _strictly_increasing_per_card(events)
        start = self._rows
        self._rows += n
        return Columns.from_events(self.pop, events, self.config.seed, start)

    def _legit(self, n: int, m0: float, m1: float) -> Events:
        """``n`` everyday purchases in the mass window ``[m0, m1)``, following each customer's habits."""
        rng, pop = self.rng, self.pop
        time_us = self.timeline.to_time_us(np.sort(rng.uniform(m0, m1, n)))
        hour = hour_of_day(time_us)
        chrono = (self._chrono_cum[hour] < rng.random(n)[:, None]).sum(axis=1)
        chrono = np.minimum(chrono, len(CHRONOTYPE_SHARE) - 1)
        lo = self._rate_cum0[pop.chrono_start[chrono]]
        hi = self._rate_cum0[pop.chrono_start[chrono + 1]]
        cust = np.searchsorted(pop.rate_cum, lo + rng.random(n) * (hi - lo), side="right")
        cust = np.clip(cust, pop.chrono_start[chrono], pop.chrono_start[chrono + 1] - 1)
        second_card = (pop.card_count[cust] == 2) & (rng.random(n) < 0.3)
        card = pop.card_start[cust] + second_card
        cat = np.minimum((pop.category_cum[cust] < rng.random(n)[:, None]).sum(axis=1), N_CATEGORIES - 1)
        if "category" in self.drift:
            cat = shift_categories(rng, cat, self._progress(time_us), self.drift["category"])
        online = rng.random(n) < CATEGORY_ONLINE[cat]
        channel = np.where(cat == CAT["cash_withdrawal"], ATM, np.where(online, ONLINE, POS))
        city = pop.home_city[cust].copy()
        away = online | (rng.random(n) < 0.03)  # web shops anywhere; a few trips
        city[away] = rng.integers(0, len(CITIES), int(away.sum()))
        merchant = pop.pick_merchants(rng, city, cat)
        amount = (
            np.exp(pop.amount_mu[cust] + pop.amount_sigma[cust] * rng.standard_normal(n)) * CATEGORY_AMOUNT_FACTOR[cat]
        )
        amount = np.round(np.clip(amount, 1.0, 15_000.0), 2)
        cash = channel == ATM
        amount[cash] = np.maximum(20.0, np.round(amount[cash] / 20.0) * 20.0)
        device = np.full(n, None, dtype=object)
        dev_k = (rng.random(n) * pop.device_count[cust]).astype(np.int64)
        device[online] = pop.device_ids[cust[online], dev_k[online]]
        return Events(card, time_us, amount, merchant, channel, device, np.full(n, LEGIT))

    def _progress(self, time_us: np.ndarray) -> np.ndarray:
        """Drift ramp position (0 to 1) of each time."""
        mass = self.timeline.to_mass(time_us)
        return progress(mass, self.timeline.start_mass, self._drift_span or DAY_S)


def _make_room(rng: np.random.Generator, legit: Events, k: int) -> Events:
    """``legit`` without ``k`` random plain purchases (relabelled ones only when too few are plain)."""
    if k <= 0:
        return legit
    plain = np.flatnonzero(legit.scenario == LEGIT)
    keep = np.ones(len(legit), dtype=bool)
    keep[plain[rng.choice(len(plain), min(k, len(plain)), replace=False)]] = False
    if k > len(plain):
        keep[np.flatnonzero(keep)[: k - len(plain)]] = False
    return legit.take(keep)


def _strictly_increasing_per_card(events: Events) -> None:
    """Nudge equal times of one card apart by a microsecond (in place, keeps time order)."""
    order = np.lexsort((events.time_us, events.card))
    card, t = events.card[order], events.time_us[order].copy()
    while True:
        same = (card[1:] == card[:-1]) & (t[1:] <= t[:-1])
        if not same.any():
            break
        idx = np.flatnonzero(same) + 1
        t[idx] = t[idx - 1] + 1
    if not np.array_equal(t, events.time_us[order]):
        events.time_us[order] = t
        resort = np.argsort(events.time_us, kind="stable")
        for name in ("card", "time_us", "amount", "merchant", "channel", "device", "scenario"):
            setattr(events, name, getattr(events, name)[resort])


def chunk_iter(count: int, config: GeneratorConfig) -> Iterator[Columns]:
    """Shorthand: a new generator's chunks."""
    return TransactionGenerator(config).chunks(count)
