"""Progressive drift of the synthetic stream, to demonstrate and test drift monitoring.

A drift ramps linearly from nothing at the start of the run to full strength at its end
(or after ``drift_days`` simulated days), so the first and last parts of one run differ
while each stretch looks ordinary. Three kinds, combinable:

- ``amount[:F]`` - every amount is multiplied by ``F ** p`` (default F = 2: doubled by the end);
- ``category[:S]`` - a share ``S * p`` of purchases (default S = 0.5) move to online
  services, electronics, entertainment and travel;
- ``fraud-mix[:F]`` - the fraud rate grows to ``F`` times (default 2) and the scenario mix
  moves to online fraud (see :class:`fraudguard.generator.mix.FraudMix`).

Drift draws only happen when a drift is configured: a steady run is the plain stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fraudguard.errors import ConfigError
from fraudguard.generator.population import CAT

DRIFT_DEFAULTS: dict[str, float] = {"amount": 2.0, "category": 0.5, "fraud-mix": 2.0}
DRIFT_CATEGORIES = np.array([CAT["online_services"], CAT["electronics"], CAT["entertainment"], CAT["travel"]])


@dataclass(frozen=True)
class Drift:
    """One kind of drift and its strength at the end of the ramp."""

    kind: str
    strength: float

    def __post_init__(self) -> None:
        if self.kind not in DRIFT_DEFAULTS:
            raise ConfigError(f"unknown drift {self.kind!r}: expected one of {', '.join(DRIFT_DEFAULTS)}")
        s = self.strength
        if not math.isfinite(s) or s <= 0:
            raise ConfigError(f"drift {self.kind}: strength must be a positive number, got {s}")
        if self.kind == "category" and s > 1:
            raise ConfigError(f"drift category: the share must be in (0, 1], got {s}")


def parse_drift(text: str) -> Drift:
    """``KIND`` or ``KIND:VALUE`` (e.g. ``amount:1.5``) -> :class:`Drift`; :class:`ConfigError` if malformed."""
    kind, _, value = text.strip().partition(":")
    kind = kind.strip().replace("_", "-")
    if kind not in DRIFT_DEFAULTS:
        raise ConfigError(f"--drift {text!r}: expected amount[:F], category[:S] or fraud-mix[:F]")
    if not value.strip():
        return Drift(kind, DRIFT_DEFAULTS[kind])
    try:
        strength = float(value)
    except ValueError as e:
        raise ConfigError(f"--drift {text!r}: {value!r} is not a number") from e
    return Drift(kind, strength)


def check_drifts(drifts: tuple[Drift, ...]) -> dict[str, float]:
    """The drifts as ``{kind: strength}``; refuses the same kind twice."""
    out: dict[str, float] = {}
    for d in drifts:
        if d.kind in out:
            raise ConfigError(f"drift {d.kind} given twice")
        out[d.kind] = d.strength
    return out


def progress(mass: np.ndarray, start: float, span: float) -> np.ndarray:
    """Ramp position (0 to 1) of each point of activity mass (see :mod:`.timeline`)."""
    return np.clip((np.asarray(mass, dtype=np.float64) - start) / max(span, 1e-9), 0.0, 1.0)


def shift_categories(rng: np.random.Generator, cat: np.ndarray, p: np.ndarray, share: float) -> np.ndarray:
    """Move a share ``share * p`` of the categories to :data:`DRIFT_CATEGORIES` (new array)."""
    move = rng.random(len(cat)) < share * p
    out = cat.copy()
    out[move] = rng.choice(DRIFT_CATEGORIES, int(move.sum()))
    return out


def scale_amounts(amount: np.ndarray, cash: np.ndarray, p: np.ndarray, factor: float) -> np.ndarray:
    """Amounts times ``factor ** p``, to the cent (cash to 20)."""
    out = np.round(np.clip(amount * factor**p, 1.0, 20_000.0), 2)
    out[cash] = np.maximum(20.0, np.round(out[cash] / 20.0) * 20.0)
    return out
