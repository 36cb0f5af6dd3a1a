"""Long-horizon fraud: incidents that a day of history cannot reveal.

Two kinds, because two kinds of fraud look like this in real portfolios:

- **Injected incidents** (:func:`slow_card_testing`, :func:`merchant_mimicry`,
  :func:`bust_out`) add the fraudster's own events, spread over days or weeks. They share
  the short scenarios' contract: exactly ``rows`` events, incidents starting in
  ``[t0, t1)``, later events kept pending by the generator.
- **Windows** (:class:`Windows`) turn the victims' *ordinary* purchases into fraud for a
  while: every purchase at a breached merchant for weeks, or a share of one card's
  purchases with amounts inflated several-fold for one to three weeks. Nothing in the
  single event differs from a legitimate one except, for inflation, the amount relative to
  the card's own past; only long per-card and per-merchant history sees them.

Windows start at a rate per simulated day chosen so that, on average, they supply their
share of the fraud rate; the generator counts what they actually relabel, so the injected
scenarios make up any difference and the overall rate holds.
"""

from __future__ import annotations

import numpy as np

from fraudguard.generator.population import (
    CAT,
    CATEGORY_AMOUNT_FACTOR,
    CATEGORY_ONLINE,
    CITIES,
    N_CATEGORIES,
    Population,
)
from fraudguard.generator.scenarios import (
    ATM,
    ONLINE,
    POS,
    SCENARIOS,
    Events,
    draw_incidents,
    incident_times,
    lognormal,
    new_devices,
)
from fraudguard.generator.timeline import DAY_S, DAY_US, US

SLOW_TESTING = SCENARIOS.index("slow_card_testing")
MIMICRY = SCENARIOS.index("merchant_mimicry")
BUST_OUT = SCENARIOS.index("bust_out")
BREACH = SCENARIOS.index("merchant_breach_weeks")
INFLATED = SCENARIOS.index("inflated_amounts")

BREACH_DAYS = (7.0, 28.0)
"""A breached merchant stays compromised this many days (uniform)."""
BREACH_SHARE = (0.8, 1.0)
"""Share of the breached merchant's purchases that are fraud ("all or most")."""
INFLATION_DAYS = (7.0, 21.0)
INFLATION_SHARE = (0.25, 0.5)
"""Share of the card's purchases inflated during its window."""
INFLATION_FACTOR = (3.0, 6.0)


def _owner_categories(pop: Population, rng: np.random.Generator, owner: np.ndarray) -> np.ndarray:
    """A category per event drawn from each owner's own spending habits."""
    u = rng.random(len(owner))
    return np.minimum((pop.category_cum[owner] < u[:, None]).sum(axis=1), N_CATEGORIES - 1)


def _habitual(
    pop: Population, rng: np.random.Generator, owner: np.ndarray, cat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merchant, channel and device of purchases made the way the owner makes them."""
    online = rng.random(len(owner)) < CATEGORY_ONLINE[cat]
    channel = np.where(cat == CAT["cash_withdrawal"], ATM, np.where(online, ONLINE, POS))
    city = pop.home_city[owner].copy()
    city[online] = rng.integers(0, len(CITIES), int(online.sum()))
    merchant = pop.pick_merchants(rng, city, cat)
    device = np.full(len(owner), None, dtype=object)
    k = (rng.random(len(owner)) * pop.device_count[owner]).astype(np.int64)
    device[online] = pop.device_ids[owner[online], k[online]]
    return merchant, channel, device


def slow_card_testing(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """A few tiny online charges a day over several days, each at a different merchant.

    Spread out so that no hourly or daily velocity stands out: only a card's long-run
    count of sub-$5 charges at merchants it never used does.
    """
    inc, pos = draw_incidents(rng, rows, 4, 12)
    n_inc = int(inc[-1]) + 1
    starts = rng.integers(t0, t1, n_inc)
    cards = rng.integers(0, pop.n_cards, n_inc)
    cats = rng.choice([CAT["online_services"], CAT["other"], CAT["retail"], CAT["entertainment"]], rows)
    return Events(
        card=cards[inc],
        time_us=incident_times(rng, inc, pos, starts, rng.exponential(12 * 3600.0, rows) + 2 * 3600.0),
        amount=np.round(rng.uniform(0.5, 4.99, rows), 2),
        merchant=pop.pick_merchants(rng, rng.integers(0, len(CITIES), rows), cats),
        channel=np.full(rows, ONLINE),
        device=new_devices(rng, rows),
        scenario=np.full(rows, SLOW_TESTING),
    )


def merchant_mimicry(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """Fraud that shops like the owner (home city, usual categories, own devices) at 2-5x the amounts.

    Over one to two days; the only tell is the amount against the card's own history.
    """
    inc, pos = draw_incidents(rng, rows, 2, 6)
    n_inc = int(inc[-1]) + 1
    starts = rng.integers(t0, t1, n_inc)
    cards = rng.integers(0, pop.n_cards, n_inc)[inc]
    owner = pop.card_owner[cards]
    cat = _owner_categories(pop, rng, owner)
    merchant, channel, device = _habitual(pop, rng, owner, cat)
    shift = rng.uniform(2.0, 5.0, n_inc)[inc]
    amount = np.exp(pop.amount_mu[owner] + pop.amount_sigma[owner] * rng.standard_normal(rows))
    amount = np.round(np.clip(amount * CATEGORY_AMOUNT_FACTOR[cat] * shift, 1.0, 15_000.0), 2)
    cash = channel == ATM
    amount[cash] = np.maximum(20.0, np.round(amount[cash] / 20.0) * 20.0)
    return Events(
        card=cards,
        time_us=incident_times(rng, inc, pos, starts, rng.exponential(5 * 3600.0, rows) + 1800.0),
        amount=amount,
        merchant=merchant,
        channel=channel,
        device=device,
        scenario=np.full(rows, MIMICRY),
    )


def bust_out(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """Spending that builds up over three to six weeks, then maxes out within a day and a half.

    The first three quarters of an incident ramp from the owner's usual amounts to about
    three times them, ever more often; the last quarter is large purchases and cash.
    """
    inc, pos = draw_incidents(rng, rows, 12, 30)
    n_inc = int(inc[-1]) + 1
    size = np.bincount(inc)[inc]
    n_build = np.maximum(1, np.round(size * 0.75).astype(np.int64))
    build = pos < n_build
    starts = rng.integers(t0, t1, n_inc)[inc]
    span_us = (rng.uniform(21.0, 42.0, n_inc) * DAY_US).astype(np.int64)[inc]
    frac = np.where(build, pos / n_build, 1.0)
    jitter = rng.uniform(-0.3, 0.3, rows) / n_build
    ramp_at = np.clip(np.sqrt(np.clip(frac + jitter, 0.0, 1.0)), 0.0, 1.0)  # denser towards the end
    max_out = (rng.uniform(0.0, 1.5 * DAY_S, rows) * US).astype(np.int64)
    time_us = starts + np.where(build, (ramp_at * span_us).astype(np.int64), span_us + max_out)
    cards = rng.integers(0, pop.n_cards, n_inc)[inc]
    owner = pop.card_owner[cards]
    big_cats = np.array([CAT["electronics"], CAT["jewelry"], CAT["travel"], CAT["cash_withdrawal"]])
    cat = np.where(build, _owner_categories(pop, rng, owner), rng.choice(big_cats, rows))
    merchant, channel, device = _habitual(pop, rng, owner, cat)
    usual = np.exp(pop.amount_mu[owner] + pop.amount_sigma[owner] * rng.standard_normal(rows))
    amount = np.where(
        build, usual * CATEGORY_AMOUNT_FACTOR[cat] * (1.0 + 2.0 * frac), lognormal(rng, 1_500.0, 0.5, rows, 8_000.0)
    )
    amount = np.round(np.clip(amount, 1.0, 15_000.0), 2)
    cash = channel == ATM
    amount[cash] = np.maximum(20.0, np.round(amount[cash] / 20.0) * 20.0)
    return Events(card=cards, time_us=time_us, amount=amount, merchant=merchant, channel=channel,
                  device=device, scenario=np.full(rows, BUST_OUT))  # fmt: skip


class Windows:
    """Merchants breached for weeks and cards with inflated amounts, as time windows.

    ``events_per_day`` is the stream's density (rows per simulated day): it turns a target
    share of fraud rows into a rate of new windows. State is a handful of arrays of the
    windows still open; expired ones are dropped at every chunk.

    A merchant or card is only picked when its expected daily volume fits in the
    scenario's daily fraud budget, so in a small world one breach of a busy shop cannot
    exceed the fraud rate on its own.
    """

    def __init__(self, pop: Population, events_per_day: float) -> None:
        self.pop = pop
        self.events_per_day = events_per_day
        scale = events_per_day / pop.daily_rate
        self.merchant_volume = np.maximum(merchant_volume(pop) * scale, 1e-3)
        owner = pop.card_owner
        split = np.where(
            pop.card_count[owner] == 2, np.where(np.arange(pop.n_cards) == pop.card_start[owner], 0.7, 0.3), 1.0
        )
        self.card_volume = np.maximum(pop.rate_per_day[owner] * split * scale, 1e-3)
        self.breach = np.zeros((0, 4))  # merchant, start_us, end_us, share
        self.inflate = np.zeros((0, 5))  # card, start_us, end_us, share, factor

    def _breach_pick(self, breach_rows: float) -> tuple[np.ndarray, float]:
        """Cumulative pick probabilities over merchants and the mean daily volume of a pick.

        Breaches hit small shops as often as big ones in fraud rows (probability inverse to
        volume), so windows are many and the rate even.
        """
        vol = self.merchant_volume
        fits = vol * np.mean(BREACH_SHARE) <= breach_rows
        weight = np.where(fits, 1.0 / vol, 0.0) if fits.any() else (vol == vol.min()).astype(np.float64)
        return np.cumsum(weight / weight.sum()), float((weight * vol).sum() / weight.sum())

    def _inflate_pick(self, inflate_rows: float) -> tuple[np.ndarray, float]:
        """Cumulative pick probabilities over cards (even among those that fit) and their mean volume."""
        vol = self.card_volume
        fits = vol * np.mean(INFLATION_SHARE) <= inflate_rows
        weight = fits.astype(np.float64) if fits.any() else (vol == vol.min()).astype(np.float64)
        return np.cumsum(weight / weight.sum()), float((weight * vol).sum() / weight.sum())

    def open(self, rng: np.random.Generator, t0: int, t1: int, breach_rows: float, inflate_rows: float) -> None:
        """Open the windows starting in ``[t0, t1)``; ``*_rows`` are fraud rows per simulated day wanted."""
        days = (t1 - t0) / DAY_US
        breach_cum, per_merchant = self._breach_pick(breach_rows)
        inflate_cum, per_card = self._inflate_pick(inflate_rows)
        breach_rate = float(breach_rows / (np.mean(BREACH_DAYS) * np.mean(BREACH_SHARE) * per_merchant))
        inflate_rate = float(inflate_rows / (np.mean(INFLATION_DAYS) * np.mean(INFLATION_SHARE) * per_card))
        self.breach = self.breach[self.breach[:, 2] > t0]
        self.inflate = self.inflate[self.inflate[:, 2] > t0]
        new = _draw_windows(rng, breach_rate * days, t0, t1, breach_cum, BREACH_DAYS, BREACH_SHARE)
        self.breach = np.concatenate([self.breach, new])
        new = _draw_windows(
            rng, inflate_rate * days, t0, t1, inflate_cum, INFLATION_DAYS, INFLATION_SHARE, INFLATION_FACTOR
        )
        self.inflate = np.concatenate([self.inflate, new])

    def apply(self, rng: np.random.Generator, legit: Events) -> int:
        """Relabel (and for inflation, scale) the legitimate events inside open windows; return how many."""
        if not len(legit) or (not len(self.breach) and not len(self.inflate)):
            return 0
        u = rng.random(len(legit))
        w = _inside(self.breach, legit.merchant, legit.time_us)
        breached = w >= 0
        breached[breached] = u[breached] < self.breach[w[breached], 3]
        legit.scenario[breached] = BREACH
        w = _inside(self.inflate, legit.card, legit.time_us)
        inflated = (w >= 0) & ~breached
        inflated[inflated] = u[inflated] < self.inflate[w[inflated], 3]
        if inflated.any():
            amount = np.clip(legit.amount[inflated] * self.inflate[w[inflated], 4], 1.0, 15_000.0)
            cash = legit.channel[inflated] == ATM
            legit.amount[inflated] = np.where(cash, np.round(amount / 20.0) * 20.0, np.round(amount, 2))
            legit.scenario[inflated] = INFLATED
        return int(breached.sum() + inflated.sum())


def merchant_volume(pop: Population) -> np.ndarray:
    """Expected purchases per simulated day at each merchant, from the customers' habits.

    In person, customers shop in their home city (3% travel); online, in a random city;
    the volume of a (city, category) is shared by its merchants, or by the category's
    merchants anywhere when that city has none.
    """
    habit = np.diff(pop.category_cum, axis=1, prepend=0.0) * pop.rate_per_day[:, None]  # (customer, category)
    n_cities = len(CITIES)
    in_person = habit * (1.0 - CATEGORY_ONLINE) * 0.97
    local = np.zeros((n_cities, N_CATEGORIES))
    np.add.at(local, pop.home_city, in_person)
    remote = (habit.sum(axis=0) - in_person.sum(axis=0)) / n_cities
    demand = local + remote
    empty = pop.city_cat_count == 0  # that demand goes to the category's merchants anywhere
    anywhere = (demand * empty).sum(axis=0) / np.maximum(pop.cat_count, 1)
    per_city_cat = demand / np.maximum(pop.city_cat_count, 1)
    return per_city_cat[pop.merchant_city, pop.merchant_category] + anywhere[pop.merchant_category]


def _draw_windows(
    rng: np.random.Generator, expected: float, t0: int, t1: int, pick_cum: np.ndarray, *ranges: tuple[float, float]
) -> np.ndarray:
    """About ``expected`` (Poisson) new windows starting in ``[t0, t1)``: target (drawn from
    ``pick_cum``), start, end (length from ``ranges[0]``, in days), then one uniform draw per
    further range (share, and the inflation factor). Empty when none opens."""
    k = int(rng.poisson(expected)) if expected > 0 else 0
    if not k:
        return np.empty((0, 2 + len(ranges)))
    start = rng.integers(t0, t1, k).astype(np.float64)
    target = np.minimum(np.searchsorted(pick_cum, rng.random(k)), len(pick_cum) - 1)
    end = start + rng.uniform(*ranges[0], k) * DAY_US
    return np.column_stack([target, start, end, *(rng.uniform(*r, k) for r in ranges[1:])])


def _inside(windows: np.ndarray, key: np.ndarray, time_us: np.ndarray) -> np.ndarray:
    """Index of the open window (columns key, start, end) holding each event, or -1.

    Vectorized with one sort of the few open windows; a key with overlapping windows uses
    the earliest-starting one.
    """
    out = np.full(len(key), -1, dtype=np.int64)
    if not len(windows):
        return out
    order = np.lexsort((windows[:, 1], windows[:, 0]))
    keys = windows[order, 0].astype(np.int64)
    at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
    w = order[at]
    ok = (keys[at] == key) & (time_us >= windows[w, 1]) & (time_us < windows[w, 2])
    out[ok] = w[ok]
    return out
