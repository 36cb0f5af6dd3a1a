"""Which fraud scenarios run, in what proportions, and how fraud rows are drawn.

The default mix gives half the fraud rows to the five short scenarios (visible within a
day) and half to the five long-horizon ones, so the project's own data exercises long
windows. A selection (``--scenarios long``, or a list of names) keeps the listed
scenarios in their default proportions, which lets training be measured on one family
alone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fraudguard.errors import ConfigError
from fraudguard.generator import long_scenarios as ls
from fraudguard.generator import scenarios as ss
from fraudguard.generator.population import Population
from fraudguard.generator.scenarios import LONG_SCENARIOS, SCENARIOS, SHORT_SCENARIOS, Events
from fraudguard.generator.timeline import night_intervals

DEFAULT_WEIGHTS: dict[str, float] = {
    "card_testing": 0.125,
    "account_takeover": 0.10,
    "impossible_travel": 0.10,
    "stolen_card_night": 0.075,
    "compromised_merchant": 0.10,
    "merchant_breach_weeks": 0.15,
    "inflated_amounts": 0.12,
    "slow_card_testing": 0.08,
    "merchant_mimicry": 0.08,
    "bust_out": 0.07,
}
"""Share of fraud rows per scenario (sums to 1); a selection renormalises its part."""
GROUPS: dict[str, tuple[str, ...]] = {"all": SCENARIOS, "short": SHORT_SCENARIOS, "long": LONG_SCENARIOS}
ONLINE_SCENARIOS = ("card_testing", "account_takeover", "slow_card_testing")
"""Where ``--drift fraud-mix`` moves the mix: fraudsters moving to card-not-present."""

ScenarioFn = Callable[[Population, np.random.Generator, int, int, int], Events]
INJECTED: dict[int, ScenarioFn] = {
    0: ss.card_testing,
    1: ss.account_takeover,
    2: ss.impossible_travel,
    3: ss.stolen_card_night,
    4: ss.compromised_merchant,
    ls.SLOW_TESTING: ls.slow_card_testing,
    ls.MIMICRY: ls.merchant_mimicry,
    ls.BUST_OUT: ls.bust_out,
}
"""Scenarios that add their own events; the other two (windows) relabel purchases."""
_SHORT_MASK = np.array([s in SHORT_SCENARIOS for s in SCENARIOS])
_LONG_MASK = np.array([i in INJECTED and s in LONG_SCENARIOS for i, s in enumerate(SCENARIOS)])


def parse_scenarios(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``all``, ``short``, ``long`` or comma-separated scenario names -> the names, in canonical order.

    Raises :class:`ConfigError` naming the unknown entry and the valid ones.
    """
    items = [p.strip() for p in spec.split(",")] if isinstance(spec, str) else [str(p).strip() for p in spec]
    items = [p for p in items if p]
    if not items:
        raise ConfigError("scenarios: give 'all', 'short', 'long' or scenario names")
    chosen: set[str] = set()
    for item in items:
        if item in GROUPS:
            chosen.update(GROUPS[item])
        elif item in SCENARIOS:
            chosen.add(item)
        else:
            raise ConfigError(
                f"unknown fraud scenario {item!r}: expected all, short, long or some of {', '.join(SCENARIOS)}"
            )
    return tuple(s for s in SCENARIOS if s in chosen)


class FraudMix:
    """Scenario weights of a selection, optionally drifting towards online fraud.

    ``mix_drift`` is the ``fraud-mix`` drift strength: at progress ``p`` (0 to 1) the
    fraud rate is multiplied by ``mix_drift ** p`` and the weights move linearly to an
    even split over the selected online scenarios (unchanged when none is selected).
    """

    def __init__(self, selection: tuple[str, ...], mix_drift: float | None = None) -> None:
        base = np.array([DEFAULT_WEIGHTS[s] if s in selection else 0.0 for s in SCENARIOS])
        self.base = base / base.sum()
        online = np.array([s in selection and s in ONLINE_SCENARIOS for s in SCENARIOS], dtype=np.float64)
        self.target = online / online.sum() if online.any() else self.base
        self.mix_drift = mix_drift

    def weights(self, p: float) -> np.ndarray:
        """Weights over :data:`SCENARIOS` at drift progress ``p``."""
        if self.mix_drift is None or p <= 0:
            return self.base
        return (1.0 - p) * self.base + p * self.target

    def rate_factor(self, p: float) -> float:
        """Multiplier of the configured fraud rate at drift progress ``p``."""
        return 1.0 if self.mix_drift is None else float(self.mix_drift**p)


def draw_fraud(
    pop: Population,
    rng: np.random.Generator,
    rows: int,
    t0: int,
    t1: int,
    weights: np.ndarray,
    *,
    long: bool = False,
) -> Events:
    """``rows`` injected fraud events from incidents starting in ``[t0, t1)``, split by ``weights``.

    ``long`` picks the long-horizon injected scenarios, otherwise the short ones; window
    scenarios are never drawn here (they relabel purchases instead). The night scenario
    only runs when the window holds some night; its share then goes to the others.
    """
    w = np.where(_LONG_MASK if long else _SHORT_MASK, weights, 0.0)
    if not night_intervals(t0, t1):
        w[SCENARIOS.index("stolen_card_night")] = 0.0
    if rows <= 0 or w.sum() <= 0:
        return Events.empty()
    counts = rng.multinomial(rows, w / w.sum())
    parts = [INJECTED[i](pop, rng, int(k), t0, t1) for i, k in enumerate(counts) if k > 0]
    return Events.concat(parts)


def long_rows(rng: np.random.Generator, weights: np.ndarray, expected_fraud: float) -> int:
    """Rows of long injected fraud to start now: their share of ``expected_fraud`` (randomly rounded).

    Drawn by time rather than by the rate controller: a long incident's events fall due
    over weeks, and a controller would start too many early and overshoot later.
    """
    x = float(weights[_LONG_MASK].sum()) * expected_fraud
    return int(np.floor(x + rng.random())) if x > 0 else 0


def has_short(weights: np.ndarray) -> bool:
    """Whether any short scenario is selected (they keep the exact fraud rate)."""
    return bool(weights[_SHORT_MASK].sum() > 0)
