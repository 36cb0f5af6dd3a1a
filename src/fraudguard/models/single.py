"""One transaction in, one decision out: features, compiled models, ensemble and record, no frames.

Why: the authorisation path scores one transaction at a time, and at batch 1 the work is
small (the compiled graph walks every tree in ~10 µs) while the frame and array plumbing
around it cost ~20x that: a one-row transaction frame, a one-row feature frame, a
20-column prediction frame, a fresh ONNX Runtime input and output per call, a dozen NumPy
calls on arrays of one. Here the transaction's features come from
:mod:`fraudguard.features.single`, the graph runs through an I/O binding whose input and
output buffers are allocated once, and the post-processing (sigmoid, tree mean, isolation
path length, calibration, stacker) runs on Python floats through NumPy's scalar loops, so
the scores equal :meth:`Scorer.decide` on the same row bit for bit.

Rows decided ``fraud`` (and rows within 1e-9 of the threshold) go through
:meth:`Scorer.decide` itself: reason codes are computed there, and a decision on the
threshold's edge is then the batch path's decision by construction.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from fraudguard import records
from fraudguard.errors import ModelError
from fraudguard.features.single import commit_one, compute_one, extras_of, names_of, row_of_transaction
from fraudguard.models.compiled import OUTPUTS
from fraudguard.models.scorer import Scorer

EDGE = 1e-9
"""Ensemble scores this close to the threshold are decided by :meth:`Scorer.decide`."""


class BoundGraph:
    """The compiled graph with one row's input and outputs bound to fixed buffers (thread-safe)."""

    def __init__(self, compiled: Any) -> None:
        import onnxruntime as ort

        self.x = np.zeros((1, compiled.n_features), np.float32)
        self.out = [np.zeros((1, 1), np.float64) for _ in OUTPUTS]
        self.binding = compiled.session.io_binding()
        self.binding.bind_ortvalue_input("x", ort.OrtValue.ortvalue_from_numpy(self.x))
        for name, buf in zip(OUTPUTS, self.out, strict=True):
            self.binding.bind_output(name, "cpu", 0, np.float64, buf.shape, buf.ctypes.data)
        self.session = compiled.session
        self.lock = threading.Lock()

    def run(self, row: np.ndarray) -> tuple[float, float, float]:
        """XGBoost margin, Random Forest leaf sum and Isolation Forest path sum of one row."""
        with self.lock:
            self.x[0] = row
            self.session.run_with_iobinding(self.binding)
            return float(self.out[0][0, 0]), float(self.out[1][0, 0]), float(self.out[2][0, 0])


class SingleScorer:
    """A :class:`Scorer` for one row at a time; see the module docstring. Get it with :func:`single_scorer`."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        models = scorer.models
        self.compiled = models.compiled
        self.graph = BoundGraph(self.compiled) if self.compiled is not None else None
        self._knots: list[float] = models.calibration.knots.tolist()
        self._probs: list[float] = models.calibration.probs.tolist()
        self.stacker = scorer.stacker
        self.threshold = float(scorer.thresholds.value)
        self.columns = scorer.feature_names
        self._take: dict[tuple[str, ...], np.ndarray | None] = {}

    def matrix_row(self, values: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The model's input row from features named ``names`` (what :meth:`Scorer.matrix` selects)."""
        key = tuple(names)
        if key not in self._take:
            if key == self.columns:
                self._take[key] = None
            else:
                pos = {n: i for i, n in enumerate(key)}
                missing = [c for c in self.columns if c not in pos]
                if missing:
                    raise ModelError(f"features missing for model {self.scorer.version}: {', '.join(missing[:8])}")
                self._take[key] = np.array([pos[c] for c in self.columns], np.intp)
        take = self._take[key]
        return values if take is None else values[take]

    def decide(self, row: np.ndarray) -> tuple[list[float], float, bool, list[str]]:
        """Base scores, ensemble score, decision and reason codes of one model-input row (float32)."""
        if self.graph is None:
            return self._batch(row)
        margin, rf_sum, if_sum = self.graph.run(row)
        assert self.compiled is not None
        base = [
            float(1.0 / (1.0 + np.exp(-margin))),
            rf_sum / self.compiled.rf_trees,
            self.calibrate(
                1.0 if self.compiled.if_denominator == 0 else float(np.exp2(-if_sum / self.compiled.if_denominator))
            ),
        ]
        ens = self.stacker.one(base)
        if ens >= self.threshold or abs(ens - self.threshold) < EDGE:
            return self._batch(row)
        return base, ens, False, []

    def calibrate(self, x: float) -> float:
        """``RankCalibration`` of one value: ``np.interp``'s own steps (``compiled_base.c``) on floats."""
        xp, fp = self._knots, self._probs
        if len(xp) == 1:
            return float(x >= xp[0])
        if x != x or x < xp[0] or x > xp[-1]:
            return x if x != x else fp[0] if x < xp[0] else fp[-1]
        j = bisect_right(xp, x) - 1
        if j == len(xp) - 1 or xp[j] == x:
            return fp[j]
        slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        y = slope * (x - xp[j]) + fp[j]
        if y != y:  # NaN one way: numpy tries the other end, then the flat value
            y = slope * (x - xp[j + 1]) + fp[j + 1]
            if y != y and fp[j] == fp[j + 1]:
                y = fp[j]
        return y

    def _batch(self, row: np.ndarray) -> tuple[list[float], float, bool, list[str]]:
        d = self.scorer.decide(np.ascontiguousarray(row, np.float32).reshape(1, -1))
        return d.base[0].tolist(), float(d.ensemble[0]), bool(d.fraud[0]), d.reasons[0]

    def prediction(
        self,
        tx: records.Transaction,
        values: np.ndarray,
        names: Sequence[str],
        *,
        produced_at: datetime | None = None,
        scored_at: datetime | None = None,
    ) -> records.Prediction:
        """The record :meth:`Scorer.prediction_list` gives for ``tx`` and its feature row."""
        base, ens, fraud, reasons = self.decide(self.matrix_row(values, names))
        t = tx.event_time
        return records.Prediction(
            transaction_id=tx.transaction_id,
            card_id=tx.card_id,
            event_time=t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC),
            amount=float(tx.amount),
            merchant_id=tx.merchant_id,
            merchant_category=tx.merchant_category,
            scores=dict(zip(records.MODEL_NAMES, base, strict=True)),
            ensemble_score=ens,
            threshold=self.threshold,
            decision="fraud" if fraud else "legit",
            reasons=reasons,
            model_version=self.scorer.version,
            is_fraud=tx.is_fraud,
            fraud_scenario=tx.fraud_scenario or None,
            produced_at=produced_at,
            scored_at=scored_at if scored_at is not None else datetime.now(UTC),
        )


_SINGLE: weakref.WeakKeyDictionary[Scorer, SingleScorer] = weakref.WeakKeyDictionary()
_SINGLE_LOCK = threading.Lock()


def single_scorer(scorer: Scorer) -> SingleScorer:
    """The :class:`SingleScorer` of ``scorer`` (built once, kept as long as the scorer lives)."""
    one = _SINGLE.get(scorer)
    if one is None:
        with _SINGLE_LOCK:
            one = _SINGLE.get(scorer)
            if one is None:
                one = _SINGLE[scorer] = SingleScorer(scorer)
    return one


def score_transaction(
    scorer: Scorer,
    pipeline: Any,
    tx: records.Transaction,
    *,
    update: bool = True,
    produced_at: datetime | None = None,
    scored_at: datetime | None = None,
) -> records.Prediction:
    """:meth:`Scorer.score_batch` of one transaction with the same values and no frame.

    Features come from ``pipeline``; its state is updated (unless ``update=False``) once
    the decision is made, so a scoring failure leaves it untouched.
    """
    names, extras = extras_of(tx)
    one = compute_one(pipeline, row_of_transaction(tx), extras)
    pred = single_scorer(scorer).prediction(
        tx, one.values, names_of(pipeline.config, tuple(names)), produced_at=produced_at, scored_at=scored_at
    )
    if update:
        commit_one(pipeline, one)
    return pred
