"""Turning raw model outputs into fraud scores in [0, 1], and combining them.

Isolation Forest is fitted without labels and returns an anomaly score on its own scale.
:class:`RankCalibration` maps it to the share of validation transactions that look less
anomalous (an empirical CDF kept as 1,001 quantiles), so 0.99 means "more anomalous than
99 % of validation traffic". The map is monotone, so it changes no ranking metric.

:class:`Stacker` is a logistic regression over the logits of the three base scores,
fitted on the validation split (the base models never saw it). Because the same split
also chooses the ensemble's thresholds, :func:`fit_stacker` returns out-of-fold scores
(5 contiguous time folds, each scored by a stacker fitted on the other four): thresholds
and validation metrics of the ensemble come from scores of rows the stacker did not fit.
Both objects are plain numbers, stored as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from fraudguard.errors import ModelError

_EPS = 1e-6


@dataclass(frozen=True)
class RankCalibration:
    """Monotone map from a raw anomaly score to its empirical CDF on validation rows."""

    knots: np.ndarray
    probs: np.ndarray

    @classmethod
    def fit(cls, raw: ArrayLike, n_knots: int = 1001) -> RankCalibration:
        """Quantiles of ``raw`` (higher = more anomalous); duplicates keep their highest rank."""
        values = np.asarray(raw, dtype=np.float64)
        if values.size == 0 or not np.isfinite(values).all():
            raise ModelError("rank calibration needs finite anomaly scores")
        probs = np.linspace(0.0, 1.0, n_knots)
        knots = np.quantile(values, probs)
        keep = np.r_[knots[1:] != knots[:-1], True]
        return cls(knots=knots[keep], probs=probs[keep])

    def __call__(self, raw: ArrayLike) -> np.ndarray:
        """Fraud scores in [0, 1]: below the lowest knot is 0, above the highest is 1."""
        values = np.asarray(raw, dtype=np.float64)
        if self.knots.size == 1:
            return (values >= self.knots[0]).astype(np.float64)
        return np.interp(values, self.knots, self.probs)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON form."""
        return {"knots": self.knots.tolist(), "probs": self.probs.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankCalibration:
        """Inverse of :meth:`to_dict`, refusing unordered knots."""
        knots = np.asarray(data["knots"], dtype=np.float64)
        probs = np.asarray(data["probs"], dtype=np.float64)
        if knots.shape != probs.shape or knots.size == 0 or (np.diff(knots) <= 0).any():
            raise ModelError("isolation forest calibration in the model card is malformed")
        return cls(knots=knots, probs=probs)


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(scores, _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


@dataclass(frozen=True)
class Stacker:
    """Logistic regression on base-model logits: ``sigmoid(b + sum_i w_i * logit(s_i))``."""

    models: tuple[str, ...]
    weights: np.ndarray
    bias: float

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Ensemble scores from an ``(n, len(models))`` matrix of base scores in [0, 1]."""
        logits = _logit(np.asarray(scores, dtype=np.float64))
        z = np.full(logits.shape[0], self.bias)
        for j, w in enumerate(self.weights):  # fixed summation order: BLAS would round per batch size
            z += w * logits[:, j]
        return 1.0 / (1.0 + np.exp(-z))

    def one(self, scores: Sequence[float]) -> float:
        """:meth:`__call__` of one row of base scores: the same operations on Python floats
        (NumPy's scalar ``log`` and ``exp``: its SIMD loops and ``math`` differ in the last bit)."""
        z = self.bias
        for w, s in zip(self.weights.tolist(), scores, strict=True):
            p = min(max(s, _EPS), 1.0 - _EPS)
            z += w * float(np.log(p / (1.0 - p)))
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"models": list(self.models), "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stacker:
        """Inverse of :meth:`to_dict`."""
        models = tuple(str(m) for m in data["models"])
        weights = np.asarray(data["weights"], dtype=np.float64)
        if weights.shape != (len(models),):
            raise ModelError("ensemble weights in the model card do not match its model list")
        return cls(models=models, weights=weights, bias=float(data["bias"]))


def _fit_lr(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    lr = LogisticRegression(C=1.0, max_iter=1000)
    with threadpool_limits(1):  # four coefficients: BLAS threads only add contention
        lr.fit(_logit(x), y)
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def fit_stacker(
    models: tuple[str, ...], scores: np.ndarray, y: ArrayLike, n_folds: int = 5
) -> tuple[Stacker, np.ndarray]:
    """Fit the stacker on validation scores; also return its out-of-fold validation scores.

    Folds are contiguous (no shuffling) because validation rows are in event-time order.
    A fold without both classes falls back to the stacker fitted on all rows.
    """
    x = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(y).astype(np.int64)
    if len(np.unique(labels)) < 2:
        raise ModelError("the validation split needs fraud and legitimate rows to fit the ensemble")
    w, b = _fit_lr(x, labels)
    full = Stacker(models=models, weights=w, bias=b)
    oof = np.empty(labels.size, dtype=np.float64)
    for fit_idx, held_idx in KFold(n_splits=n_folds, shuffle=False).split(x):
        if len(np.unique(labels[fit_idx])) < 2:
            oof[held_idx] = full(x[held_idx])
            continue
        fw, fb = _fit_lr(x[fit_idx], labels[fit_idx])
        oof[held_idx] = Stacker(models=models, weights=fw, bias=fb)(x[held_idx])
    return full, oof
