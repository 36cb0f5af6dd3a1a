"""Short fraud scenarios: each draws whole incidents (bursts of related events) at once.

Every scenario returns an :class:`Events` block of exactly the number of rows it was
asked for (the last incident is cut short if needed) so the overall fraud rate is the
requested one. Incidents may run past the end of the current chunk's time window: the
generator keeps those events pending and emits them in later chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudguard.generator.population import CAT, CITIES, CITY_LAT, CITY_LON, Population, haversine_km
from fraudguard.generator.timeline import US, night_intervals

POS, ONLINE, ATM = 0, 1, 2
CHANNEL_NAMES = np.array(["pos", "online", "atm"], dtype=object)
SHORT_SCENARIOS: tuple[str, ...] = (
    "card_testing",
    "account_takeover",
    "impossible_travel",
    "stolen_card_night",
    "compromised_merchant",
)
"""Incidents visible within a day (minutes to hours long)."""
LONG_SCENARIOS: tuple[str, ...] = (
    "merchant_breach_weeks",
    "inflated_amounts",
    "slow_card_testing",
    "merchant_mimicry",
    "bust_out",
)
"""Incidents that only a long history reveals (days to weeks); see :mod:`.long_scenarios`."""
SCENARIOS: tuple[str, ...] = SHORT_SCENARIOS + LONG_SCENARIOS
"""Every ``fraud_scenario`` label; an event's scenario is an index into this tuple."""
LEGIT = -1


@dataclass
class Events:
    """Columns of generated events before they get ids (one entry per event)."""

    card: np.ndarray
    time_us: np.ndarray
    amount: np.ndarray
    merchant: np.ndarray
    channel: np.ndarray
    device: np.ndarray  # object: str or None
    scenario: np.ndarray  # index into SCENARIOS, LEGIT for legitimate

    def __len__(self) -> int:
        return len(self.card)

    def take(self, idx: np.ndarray) -> Events:
        """The events at ``idx`` (an index or boolean mask)."""
        return Events(*(getattr(self, f)[idx] for f in _FIELDS))

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        """One block holding every part, in order."""
        return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    @staticmethod
    def empty() -> Events:
        i = np.zeros(0, np.int64)
        return Events(i, i, np.zeros(0), i, i, np.zeros(0, object), i)


_FIELDS = ("card", "time_us", "amount", "merchant", "channel", "device", "scenario")


def draw_incidents(rng: np.random.Generator, rows: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` events into incidents of ``lo..hi`` events; return (incident of each event, position in it)."""
    sizes = rng.integers(lo, hi + 1, size=rows // lo + 1)
    ends = np.cumsum(sizes)
    n_inc = int(np.searchsorted(ends, rows)) + 1
    sizes = sizes[:n_inc].copy()
    sizes[-1] -= int(ends[n_inc - 1]) - rows
    inc = np.repeat(np.arange(n_inc), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return inc, np.arange(rows) - first[inc]


def incident_times(
    rng: np.random.Generator, inc: np.ndarray, pos: np.ndarray, starts: np.ndarray, gap_s: np.ndarray
) -> np.ndarray:
    """Start of each incident plus the cumulative gaps before each of its events."""
    gaps = np.where(pos == 0, 0.0, gap_s)
    cum = np.cumsum(gaps)
    base = cum[np.flatnonzero(pos == 0)][inc]
    return starts[inc] + ((cum - base) * US).astype(np.int64)


def new_devices(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array([f"dev-new-{v:012x}" for v in rng.integers(0, 2**48, n)], dtype=object)


def _far_cities(rng: np.random.Generator, from_lat: np.ndarray, from_lon: np.ndarray, min_km: float) -> np.ndarray:
    """A random city at least ``min_km`` from each point (retried a few times)."""
    city = rng.integers(0, len(CITIES), len(from_lat))
    for _ in range(8):
        near = haversine_km(from_lat, from_lon, CITY_LAT[city], CITY_LON[city]) < min_km
        if not near.any():
            break
        city[near] = rng.integers(0, len(CITIES), int(near.sum()))
    return city


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int, cap: float = 20_000.0) -> np.ndarray:
    return np.round(np.clip(median * np.exp(rng.normal(0, sigma, n)), 1.0, cap), 2)


def card_testing(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """Bursts of tiny online amounts on one card to check it works before selling it."""
    inc, pos = draw_incidents(rng, rows, 4, 12)
    n_inc = int(inc[-1]) + 1
    starts = rng.integers(t0, t1, n_inc)
    cards = rng.integers(0, pop.n_cards, n_inc)
    cats = rng.choice([CAT["online_services"], CAT["other"], CAT["retail"]], n_inc)
    merch = pop.pick_merchants(rng, rng.integers(0, len(CITIES), n_inc), cats)
    return Events(
        card=cards[inc],
        time_us=incident_times(rng, inc, pos, starts, rng.exponential(25.0, rows) + 2.0),
        amount=np.round(rng.uniform(0.5, 2.99, rows), 2),
        merchant=merch[inc],
        channel=np.full(rows, ONLINE),
        device=new_devices(rng, n_inc)[inc],
        scenario=np.full(rows, 0),
    )


def account_takeover(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """A new device buys large amounts online in a category the customer rarely uses."""
    inc, pos = draw_incidents(rng, rows, 2, 5)
    n_inc = int(inc[-1]) + 1
    starts = rng.integers(t0, t1, n_inc)
    cards = rng.integers(0, pop.n_cards, n_inc)
    owner = pop.card_owner[cards]
    candidates = np.array([CAT["electronics"], CAT["jewelry"], CAT["travel"], CAT["online_services"]])
    prefs = np.diff(pop.category_cum[owner], axis=1, prepend=0.0)[:, candidates]
    cats = candidates[np.argmin(prefs, axis=1)]
    merch = pop.pick_merchants(rng, rng.integers(0, len(CITIES), n_inc), cats)
    return Events(
        card=cards[inc],
        time_us=incident_times(rng, inc, pos, starts, rng.exponential(360.0, rows) + 20.0),
        amount=lognormal(rng, 900.0, 0.5, rows, cap=10_000.0),
        merchant=merch[inc],
        channel=np.full(rows, ONLINE),
        device=new_devices(rng, n_inc)[inc],
        scenario=np.full(rows, 1),
    )


def impossible_travel(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """A cloned card used in person in cities over 1,000 km apart, minutes apart."""
    inc, pos = draw_incidents(rng, rows, 2, 3)
    n_inc = int(inc[-1]) + 1
    starts = rng.integers(t0, t1, n_inc)
    cards = rng.integers(0, pop.n_cards, n_inc)
    owner = pop.card_owner[cards]
    city = np.empty(rows, np.int64)
    prev_lat, prev_lon = pop.home_lat[owner][inc], pop.home_lon[owner][inc]
    for p in range(int(pos.max()) + 1):  # at most 3 passes: each event far from the previous one
        at = pos == p
        city[at] = _far_cities(rng, prev_lat[at], prev_lon[at], 1_000.0)
        if p + 1 <= pos.max():
            nxt = pos == p + 1
            prev_lat[nxt] = CITY_LAT[city[np.flatnonzero(nxt) - 1]]
            prev_lon[nxt] = CITY_LON[city[np.flatnonzero(nxt) - 1]]
    cats = rng.choice([CAT["retail"], CAT["electronics"], CAT["jewelry"], CAT["fuel"]], rows)
    return Events(
        card=cards[inc],
        time_us=incident_times(rng, inc, pos, starts, rng.uniform(240.0, 1800.0, rows)),
        amount=lognormal(rng, 250.0, 0.6, rows),
        merchant=pop.pick_merchants(rng, city, cats),
        channel=np.full(rows, POS),
        device=np.full(rows, None, dtype=object),
        scenario=np.full(rows, 2),
    )


def stolen_card_night(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """A stolen physical card used at night far from the owner's home (shops and ATMs)."""
    nights = night_intervals(t0, t1)
    inc, pos = draw_incidents(rng, rows, 1, 4)
    n_inc = int(inc[-1]) + 1
    lengths = np.array([b - a for a, b in nights], dtype=np.int64)
    offset = rng.integers(0, int(lengths.sum()), n_inc)
    which = np.searchsorted(np.cumsum(lengths), offset, side="right")
    starts = (
        np.array([a for a, _ in nights], dtype=np.int64)[which]
        + offset
        - np.concatenate([[0], np.cumsum(lengths)])[which]
    )
    cards = rng.integers(0, pop.n_cards, n_inc)
    owner = pop.card_owner[cards]
    city = _far_cities(rng, pop.home_lat[owner], pop.home_lon[owner], 300.0)
    cats = rng.choice([CAT["jewelry"], CAT["electronics"], CAT["cash_withdrawal"], CAT["fuel"]], rows)
    atm = cats == CAT["cash_withdrawal"]
    amount = lognormal(rng, 400.0, 0.6, rows, cap=5_000.0)
    amount[atm] = np.maximum(100.0, np.round(amount[atm] / 20.0) * 20.0)
    return Events(
        card=cards[inc],
        time_us=incident_times(rng, inc, pos, starts, rng.exponential(900.0, rows) + 60.0),
        amount=amount,
        merchant=pop.pick_merchants(rng, city[inc], cats),
        channel=np.where(atm, ATM, POS),
        device=np.full(rows, None, dtype=object),
        scenario=np.full(rows, 3),
    )


def compromised_merchant(pop: Population, rng: np.random.Generator, rows: int, t0: int, t1: int) -> Events:
    """Many local cards hit through one breached shop within a short span."""
    inc, pos = draw_incidents(rng, rows, 8, 30)
    n_inc = int(inc[-1]) + 1
    starts = rng.integers(t0, t1, n_inc)
    cats = rng.choice([CAT["restaurant"], CAT["fuel"], CAT["retail"], CAT["grocery"]], n_inc)
    merch = pop.pick_merchants(rng, rng.integers(0, len(CITIES), n_inc), cats)[inc]
    city = pop.merchant_city[merch]
    lo, hi = pop.city_customer_start[city], pop.city_customer_start[city + 1]
    local = pop.city_customers[np.minimum(lo + (rng.random(rows) * (hi - lo)).astype(np.int64), pop.n_customers - 1)]
    cust = np.where(hi > lo, local, rng.integers(0, pop.n_customers, rows))
    return Events(
        card=pop.card_start[cust],
        time_us=incident_times(rng, inc, pos, starts, rng.exponential(60.0, rows) + 5.0),
        amount=lognormal(rng, 120.0, 0.7, rows, cap=3_000.0),
        merchant=merch,
        channel=np.full(rows, POS),
        device=np.full(rows, None, dtype=object),
        scenario=np.full(rows, 4),
    )
