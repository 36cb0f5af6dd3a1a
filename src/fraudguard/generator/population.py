"""The simulated world: customers with habits, and merchants in cities.

Everything is stored as NumPy arrays indexed by customer, card or merchant number, so the
generator can draw hundreds of thousands of transactions with fancy indexing instead of
Python loops. All draws come from one ``numpy.random.Generator``: the same seed builds the
same world.

Times are simulated in one time zone (UTC stands for local time) so that "night" and
"active hours" mean the same thing for every city.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudguard.errors import ConfigError
from fraudguard.schema import MERCHANT_CATEGORIES

CITIES: tuple[tuple[str, float, float, float], ...] = (
    # name, lat, lon, relative population
    ("new_york", 40.7128, -74.0060, 8.3),
    ("los_angeles", 34.0522, -118.2437, 3.9),
    ("chicago", 41.8781, -87.6298, 2.7),
    ("houston", 29.7604, -95.3698, 2.3),
    ("phoenix", 33.4484, -112.0740, 1.6),
    ("philadelphia", 39.9526, -75.1652, 1.6),
    ("san_antonio", 29.4241, -98.4936, 1.5),
    ("san_diego", 32.7157, -117.1611, 1.4),
    ("dallas", 32.7767, -96.7970, 1.3),
    ("san_jose", 37.3382, -121.8863, 1.0),
    ("austin", 30.2672, -97.7431, 1.0),
    ("jacksonville", 30.3322, -81.6557, 0.9),
    ("columbus", 39.9612, -82.9988, 0.9),
    ("charlotte", 35.2271, -80.8431, 0.9),
    ("san_francisco", 37.7749, -122.4194, 0.9),
    ("indianapolis", 39.7684, -86.1581, 0.9),
    ("seattle", 47.6062, -122.3321, 0.7),
    ("denver", 39.7392, -104.9903, 0.7),
    ("washington", 38.9072, -77.0369, 0.7),
    ("boston", 42.3601, -71.0589, 0.7),
    ("nashville", 36.1627, -86.7816, 0.7),
    ("detroit", 42.3314, -83.0458, 0.6),
    ("portland", 45.5152, -122.6784, 0.6),
    ("las_vegas", 36.1699, -115.1398, 0.6),
    ("miami", 25.7617, -80.1918, 0.5),
    ("atlanta", 33.7490, -84.3880, 0.5),
    ("minneapolis", 44.9778, -93.2650, 0.4),
    ("anchorage", 61.2181, -149.9003, 0.3),
    ("honolulu", 21.3069, -157.8583, 0.3),
)
CITY_LAT = np.array([c[1] for c in CITIES])
CITY_LON = np.array([c[2] for c in CITIES])
N_CATEGORIES = len(MERCHANT_CATEGORIES)
CAT = {name: i for i, name in enumerate(MERCHANT_CATEGORIES)}

# How much of everyday spending goes to each category, and its typical amount relative to
# the customer's own median (electronics and travel are rarer but larger).
CATEGORY_SHARE = np.array([0.24, 0.16, 0.12, 0.12, 0.03, 0.02, 0.06, 0.05, 0.08, 0.005, 0.04, 0.065])
CATEGORY_AMOUNT_FACTOR = np.array([1.0, 0.8, 1.1, 1.4, 4.0, 6.0, 1.2, 1.5, 0.5, 5.0, 2.5, 1.0])
# Probability that a purchase in the category is made online (cash withdrawals are ATM).
CATEGORY_ONLINE = np.array([0.05, 0.05, 0.0, 0.3, 0.45, 0.6, 0.35, 0.1, 1.0, 0.2, 0.0, 0.2])

# Hourly activity (mean 1) of an ordinary day; chronotypes shift it.
BASE_DIURNAL = np.array(
    [0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.35, 0.6, 0.85, 1.0, 1.1, 1.25,
     1.4, 1.3, 1.15, 1.15, 1.25, 1.45, 1.55, 1.5, 1.3, 1.0, 0.7, 0.45]
)  # fmt: skip
CHRONOTYPE_SHIFT = np.array([-2, 0, 2, 4])
"""Early birds, standard, evening people, night owls (hours the base day is shifted)."""
CHRONOTYPE_SHARE = np.array([0.2, 0.5, 0.2, 0.1])
HOURLY_PROFILE = np.stack([np.roll(BASE_DIURNAL, s) for s in CHRONOTYPE_SHIFT]) / BASE_DIURNAL.mean()


@dataclass(frozen=True)
class Population:
    """Customers, their cards and devices, and merchants, as parallel arrays.

    Customers are numbered so that each chronotype is a contiguous block (``chrono_start``),
    which lets the generator pick "who is shopping at this hour" with one ``searchsorted``
    over ``rate_cum``.
    """

    customer_ids: np.ndarray  # object[str]
    home_city: np.ndarray  # int
    home_lat: np.ndarray
    home_lon: np.ndarray
    chronotype: np.ndarray  # int, sorted ascending
    chrono_start: np.ndarray  # int[n_chrono + 1]
    rate_per_day: np.ndarray  # expected transactions per simulated day
    rate_cum: np.ndarray  # cumulative rate in customer order
    amount_mu: np.ndarray  # log of the median amount
    amount_sigma: np.ndarray
    category_cum: np.ndarray  # float[n_customers, n_categories], rows end at 1
    card_start: np.ndarray  # first card of each customer
    card_count: np.ndarray  # 1 or 2
    card_ids: np.ndarray  # object[str]
    card_owner: np.ndarray  # customer of each card
    device_ids: np.ndarray  # object[str] of shape (n_customers, 3)
    device_count: np.ndarray
    city_customers: np.ndarray  # customer numbers sorted by home city
    city_customer_start: np.ndarray  # int[n_cities + 1]
    merchant_ids: np.ndarray  # object[str]
    merchant_category: np.ndarray  # int
    merchant_city: np.ndarray
    merchant_lat: np.ndarray
    merchant_lon: np.ndarray
    by_city_cat: np.ndarray  # merchant numbers sorted by (city, category)
    city_cat_start: np.ndarray  # int[n_cities, n_categories]
    city_cat_count: np.ndarray
    by_cat: np.ndarray  # merchant numbers sorted by category
    cat_start: np.ndarray
    cat_count: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_cards(self) -> int:
        return len(self.card_ids)

    @property
    def daily_rate(self) -> float:
        """Transactions the whole population makes on an average simulated day."""
        return float(self.rate_cum[-1])

    def pick_merchants(self, rng: np.random.Generator, city: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """A merchant of category ``cat`` in ``city`` (anywhere when that city has none)."""
        u = rng.random(len(city))
        cnt = self.city_cat_count[city, cat]
        at = self.city_cat_start[city, cat] + (u * np.maximum(cnt, 1)).astype(np.int64)
        local = self.by_city_cat[np.minimum(at, len(self.by_city_cat) - 1)]
        anywhere = self.by_cat[self.cat_start[cat] + (u * self.cat_count[cat]).astype(np.int64)]
        return np.where(cnt > 0, local, anywhere)


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i:07d}" for i in range(n)], dtype=object)


def build_population(rng: np.random.Generator, customers: int = 10_000, merchants: int = 2_000) -> Population:
    """Draw a world of ``customers`` cardholders and ``merchants`` shops and web sites.

    Raises :class:`ConfigError` when there are too few merchants to cover every category,
    because the fraud scenarios need at least one shop of each kind.
    """
    if customers < 10:
        raise ConfigError(f"customers must be at least 10, got {customers}")
    if merchants < N_CATEGORIES:
        raise ConfigError(f"merchants must be at least {N_CATEGORIES} (one per category), got {merchants}")
    n_cities = len(CITIES)
    city_p = np.array([c[3] for c in CITIES])
    city_p /= city_p.sum()

    chrono = np.sort(rng.choice(len(CHRONOTYPE_SHARE), size=customers, p=CHRONOTYPE_SHARE))
    chrono_start = np.searchsorted(chrono, np.arange(len(CHRONOTYPE_SHARE) + 1))
    home_city = rng.choice(n_cities, size=customers, p=city_p)
    home_lat = np.round(CITY_LAT[home_city] + rng.normal(0, 0.08, customers), 5)
    home_lon = np.round(CITY_LON[home_city] + rng.normal(0, 0.08, customers), 5)
    rate = rng.gamma(2.0, 1.5, customers) + 0.2
    prefs = rng.dirichlet(CATEGORY_SHARE * 40, size=customers)
    cat_cum = np.cumsum(prefs, axis=1)
    cat_cum[:, -1] = 1.0

    card_count = np.where(rng.random(customers) < 0.2, 2, 1)
    card_start = np.concatenate([[0], np.cumsum(card_count)[:-1]])
    n_cards = int(card_count.sum())
    card_owner = np.repeat(np.arange(customers), card_count)
    device_count = rng.integers(1, 4, customers)
    devices = np.array([[f"dev-{i:07d}-{k}" for k in range(3)] for i in range(customers)], dtype=object)
    city_customers = np.argsort(home_city, kind="stable")
    city_customer_start = np.searchsorted(home_city[city_customers], np.arange(n_cities + 1))

    # one merchant of every category in every city first (when there are enough), then the rest at random
    base = min(merchants, n_cities * N_CATEGORIES)
    m_city = np.concatenate(
        [np.arange(base) // N_CATEGORIES % n_cities, rng.choice(n_cities, merchants - base, p=city_p)]
    )
    m_cat = np.concatenate(
        [
            np.arange(base) % N_CATEGORIES,
            rng.choice(N_CATEGORIES, merchants - base, p=CATEGORY_SHARE / CATEGORY_SHARE.sum()),
        ]
    )
    if base < n_cities * N_CATEGORIES:  # few merchants: spread categories evenly
        m_cat = np.arange(merchants) % N_CATEGORIES
    m_lat = np.round(CITY_LAT[m_city] + rng.normal(0, 0.06, merchants), 5)
    m_lon = np.round(CITY_LON[m_city] + rng.normal(0, 0.06, merchants), 5)
    key = m_city * N_CATEGORIES + m_cat
    by_city_cat = np.argsort(key, kind="stable")
    flat_start = np.searchsorted(key[by_city_cat], np.arange(n_cities * N_CATEGORIES + 1))
    by_cat = np.argsort(m_cat, kind="stable")
    cat_start = np.searchsorted(m_cat[by_cat], np.arange(N_CATEGORIES + 1))

    return Population(
        customer_ids=_ids("cust-", customers),
        home_city=home_city,
        home_lat=home_lat,
        home_lon=home_lon,
        chronotype=chrono,
        chrono_start=chrono_start,
        rate_per_day=rate,
        rate_cum=np.cumsum(rate),
        amount_mu=rng.normal(np.log(35.0), 0.45, customers),
        amount_sigma=rng.uniform(0.45, 0.85, customers),
        category_cum=cat_cum,
        card_start=card_start,
        card_count=card_count,
        card_ids=_ids("card-", n_cards),
        card_owner=card_owner,
        device_ids=devices,
        device_count=device_count,
        city_customers=city_customers,
        city_customer_start=city_customer_start,
        merchant_ids=_ids("merch-", merchants),
        merchant_category=m_cat,
        merchant_city=m_city,
        merchant_lat=m_lat,
        merchant_lon=m_lon,
        by_city_cat=by_city_cat,
        city_cat_start=flat_start[:-1].reshape(n_cities, N_CATEGORIES),
        city_cat_count=np.diff(flat_start).reshape(n_cities, N_CATEGORIES),
        by_cat=by_cat,
        cat_start=cat_start[:-1],
        cat_count=np.diff(cat_start),
    )


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in kilometres, element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
