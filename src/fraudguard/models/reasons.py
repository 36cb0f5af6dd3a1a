"""Reason codes: why a transaction was flagged, in words an analyst can act on.

XGBoost's feature contributions (Saabas approximation, what ``pred_contribs=True,
approx_contribs=True`` returns, computed by :mod:`fraudguard.models.contribs` without
XGBoost's per-call set-up) say how much each feature pushed a score up. They still cost
more than a prediction, so the scorer computes them only for rows decided ``fraud``. The top positive contributions become codes: a 0/1 feature that is
on gives its own name (``new_device``), off gives ``no_<name>``; a numeric feature gives
``<name>_high`` or ``<name>_low`` against its training median; :data:`READABLE` names the
common ones the way analysts say them (``new_device``, ``velocity_1h``).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

from fraudguard.models.contribs import TreeContributions

TOP_K = 3

READABLE: dict[str, str] = {
    "card_device_seen:off": "new_device",
    "card_merchant_seen:off": "new_merchant",
    "card_category_seen:off": "new_category",
    "card_present:off": "card_not_present",
    "is_night:on": "night_time",
    "card_amount_zscore:high": "amount_zscore_high",
    "card_speed_kmh:high": "impossible_travel_speed",
    "card_km_from_prev:high": "far_from_previous_location",
    "card_secs_since_prev:low": "rapid_succession",
    "customer_merchant_km:high": "far_from_home",
}
"""Codes for the features analysts ask about; ``card_count_<w>:high`` becomes ``velocity_<w>``."""

_WALKS: weakref.WeakKeyDictionary[xgb.Booster, TreeContributions] = weakref.WeakKeyDictionary()


def contributions_of(booster: xgb.Booster, n_features: int) -> TreeContributions:
    """The contribution tables of ``booster``, built once per booster object (~0.1 s)."""
    walk = _WALKS.get(booster)
    if walk is None or walk.n_features != n_features:
        walk = _WALKS[booster] = TreeContributions.of(booster, n_features)
    return walk


def readable(name: str, direction: str) -> str:
    """Reason code for a feature pushing the score up at a value that is ``on``/``off``/``high``/``low``."""
    code = READABLE.get(f"{name}:{direction}")
    if code is not None:
        return code
    if name.startswith("card_count_") and direction == "high":
        return "velocity_" + name.removeprefix("card_count_")
    if direction == "on":
        return name
    if direction == "off":
        return f"no_{name}"
    return f"{name}_{direction}"


@dataclass(frozen=True)
class ReasonCoder:
    """Feature facts from the training split needed to name a contribution."""

    feature_names: tuple[str, ...]
    medians: np.ndarray
    binary: np.ndarray

    @classmethod
    def fit(cls, feature_names: tuple[str, ...], x: np.ndarray) -> ReasonCoder:
        """Medians and the 0/1 flag per feature column of the training matrix."""
        finite = np.where(np.isfinite(x), x, np.nan)
        with warnings.catch_warnings():  # an all-missing column (no coordinates) has median 0
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nan_to_num(np.nanmedian(finite, axis=0), nan=0.0) if x.size else np.zeros(len(feature_names))
        binary = np.array([bool(np.isin(col[np.isfinite(col)], (0.0, 1.0)).all()) for col in x.T], dtype=bool)
        return cls(feature_names=feature_names, medians=medians.astype(np.float64), binary=binary)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored in the model card)."""
        return {"medians": self.medians.tolist(), "binary": self.binary.tolist()}

    @classmethod
    def from_dict(cls, feature_names: tuple[str, ...], data: dict[str, Any]) -> ReasonCoder:
        """Inverse of :meth:`to_dict`."""
        return cls(
            feature_names=feature_names,
            medians=np.asarray(data["medians"], dtype=np.float64),
            binary=np.asarray(data["binary"], dtype=bool),
        )

    def code(self, j: int, value: float) -> str:
        """Readable code for feature ``j`` having pushed the score up at ``value``."""
        name = self.feature_names[j]
        if self.binary[j]:
            return readable(name, "on" if value >= 0.5 else "off")
        return readable(name, "high" if value >= self.medians[j] else "low")

    def explain(self, booster: xgb.Booster | TreeContributions, x: np.ndarray, top_k: int = TOP_K) -> list[list[str]]:
        """Top positive contributions per row of ``x`` (only the rows to explain)."""
        if x.shape[0] == 0:
            return []
        walk = booster if isinstance(booster, TreeContributions) else contributions_of(booster, x.shape[1])
        contribs = walk(x)
        k = min(top_k, contribs.shape[1])
        top = np.argsort(-contribs, axis=1, kind="stable")[:, :k]
        out: list[list[str]] = []
        for i, cols in enumerate(top.tolist()):
            out.append([self.code(j, float(x[i, j])) for j in cols if contribs[i, j] > 0])
        return out
