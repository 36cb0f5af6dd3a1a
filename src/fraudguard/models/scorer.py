"""The ensemble scorer every engine and the API call: features in, prediction frame out.

One :class:`Scorer` wraps one verified registry version. It is vectorised over the batch:
three model calls, one stacker, one threshold comparison, and SHAP reason codes only for
the rows decided ``fraud`` (contributions are the costly part of explaining a score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.errors import ModelError
from fraudguard.features import FeatureConfig, FeaturePipeline, FeatureStores
from fraudguard.models.card import ModelCard
from fraudguard.models.ensemble import Stacker
from fraudguard.models.estimators import BaseModels
from fraudguard.models.registry import LoadedVersion, load_version
from fraudguard.models.thresholds import POLICIES, Thresholds


@dataclass(frozen=True)
class Decisions:
    """What the models decide for a matrix: ``(n, 3)`` base scores, ensemble, fraud flags, reasons."""

    base: np.ndarray
    ensemble: np.ndarray
    fraud: np.ndarray
    reasons: list[list[str]]
    threshold: float


def _utc(value: datetime) -> datetime:
    """As :func:`schema.to_frame` reads an event time: naive means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class FeatureTransformer(Protocol):
    """What :meth:`Scorer.score_batch` needs from a feature pipeline."""

    def transform(self, frame: pd.DataFrame, update: bool = True) -> pd.DataFrame: ...


class Scorer:
    """Scores transaction batches with the base models, the ensemble and its threshold."""

    def __init__(self, loaded: LoadedVersion, threshold_policy: str | None = None) -> None:
        self._loaded = loaded
        card = loaded.card
        self.model_thresholds: dict[str, Thresholds] = {
            name: Thresholds.from_dict(t) for name, t in card.thresholds.items()
        }
        if schema.ENSEMBLE not in self.model_thresholds:
            raise ModelError(f"model card of {loaded.version} has no ensemble thresholds")
        ens = self.model_thresholds[schema.ENSEMBLE]
        if threshold_policy is not None:
            if threshold_policy not in POLICIES:
                raise ModelError(f"threshold policy {threshold_policy!r} is not one of {', '.join(POLICIES)}")
            ens = Thresholds.from_dict({**ens.to_dict(), "used": threshold_policy})
        self.thresholds: Thresholds = ens
        self._columns = list(loaded.feature_names)

    @classmethod
    def load(
        cls,
        registry_dir: Path | str,
        version: str | None = None,
        *,
        feature_names: Sequence[str] | None = None,
        threshold_policy: str | None = None,
        compiled: bool = True,
    ) -> Scorer:
        """Load a verified version (default ``CURRENT``); see :func:`load_version` for refusals.

        The version's compiled graph scores when it has one, unless ``compiled=False``.
        """
        names = None if feature_names is None else tuple(feature_names)
        return cls(load_version(Path(registry_dir), version, names, compiled=compiled), threshold_policy)

    @property
    def compiled(self) -> bool:
        """Whether the base models score through the compiled ONNX graph."""
        return self._loaded.models.compiled is not None

    @property
    def version(self) -> str:
        """Registry version name, written into every prediction."""
        return self._loaded.version

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature columns the models expect, in order."""
        return self._loaded.feature_names

    @property
    def models(self) -> BaseModels:
        """The verified base models (benchmarks and explanations; scoring goes through this class)."""
        return self._loaded.models

    @property
    def stacker(self) -> Stacker:
        """The ensemble combiner."""
        return self._loaded.stacker

    @property
    def card(self) -> ModelCard:
        """The version's model card."""
        return self._loaded.card

    @cached_property
    def feature_config(self) -> FeatureConfig:
        """The feature configuration the models were trained with (:meth:`ModelCard.feature_config`)."""
        return self._loaded.card.feature_config()

    def make_pipeline(self, stores: FeatureStores | None = None) -> FeaturePipeline:
        """The feature pipeline for this model: the only way engines, the API and tools build one.

        Configured exactly as the models were trained (:attr:`feature_config`), over
        ``stores`` (two fresh in-process stores by default; Redis via
        :func:`fraudguard.io.redis_state.feature_stores`).
        """
        stores = stores if stores is not None else FeatureStores.in_memory()
        return FeaturePipeline(self.feature_config, card_store=stores.card, merchant_store=stores.merchant)

    @property
    def extras(self) -> tuple[str, ...]:
        """Pass-through ``x_*`` feature columns the model uses (ULB's V1..V28)."""
        return self._loaded.card.extras

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The float32 model input, columns in card order; refuses missing features."""
        if features.columns.tolist() == self._columns:  # the pipeline's own frame: no column take
            return np.ascontiguousarray(features.to_numpy(dtype=np.float32, copy=False))
        missing = [c for c in self._columns if c not in features.columns]
        if missing:
            raise ModelError(f"features missing for model {self.version}: {', '.join(missing[:8])}")
        return np.ascontiguousarray(features[self._columns].to_numpy(dtype=np.float32, copy=False))

    def raw_scores(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Base-model score matrix ``(n, 3)`` and ensemble scores, without the frame around them."""
        base = self._loaded.models.scores(self.matrix(features))
        return base, self._loaded.stacker(base)

    def score_frame(
        self, frame: pd.DataFrame, features: pd.DataFrame, scored_at: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Prediction frame (:data:`schema.PREDICTION_COLUMNS`) for a transaction frame and its features.

        ``features`` must be aligned with ``frame`` row by row (the pipeline keeps the index).
        """
        if len(frame) != len(features):
            raise ModelError(f"frame has {len(frame)} rows but features have {len(features)}")
        x = self.matrix(features)
        d = self.decide(x)
        base, ens, threshold, idx, reasons = d.base, d.ensemble, d.threshold, np.flatnonzero(d.fraud), d.reasons
        n = len(frame)
        present = frame.columns
        cols: dict[str, Any] = {}
        for col in schema.PASS_THROUGH_COLUMNS:
            if col in present:
                cols[col] = frame[col].array  # keeps tz-aware times as datetime64, not Timestamp objects
            else:
                cols[col] = np.full(n, np.nan) if col == "is_fraud" else np.full(n, None, dtype=object)
        label = cols["is_fraud"]
        if label.dtype != np.float64:
            label = pd.Series(label).astype(np.float64).to_numpy()
        cols["is_fraud"] = label
        for j, name in enumerate(schema.MODEL_NAMES):
            cols[f"score_{name}"] = base[:, j]
        cols["ensemble_score"] = ens
        cols["threshold"] = np.full(n, threshold)
        decision = np.full(n, "legit", dtype=object)
        decision[idx] = "fraud"
        cols["decision"] = decision
        cols["reasons"] = reasons
        cols["model_version"] = np.full(n, self.version, dtype=object)
        cols["rule_ids"] = [[] for _ in range(n)]  # filled by fraudguard.rules.RuleSet.apply
        cols["rule_action"] = np.full(n, None, dtype=object)
        cols["shadow_rule_ids"] = [[] for _ in range(n)]
        if "produced_at" in present:
            cols["produced_at"] = frame["produced_at"].array
        else:
            cols["produced_at"] = pd.DatetimeIndex(np.full(n, np.datetime64("NaT", "ns")), tz="UTC")
        stamp = (scored_at if scored_at is not None else pd.Timestamp.now(tz="UTC")).tz_convert("UTC")
        cols["scored_at"] = pd.DatetimeIndex(
            np.full(n, stamp.tz_localize(None).as_unit("ns").to_datetime64()), tz="UTC"
        )
        # Built in final column order: no re-selection (a copy of every block) afterwards.
        return pd.DataFrame({c: cols[c] for c in schema.PREDICTION_COLUMNS}, index=frame.index)

    def decide(self, x: np.ndarray) -> Decisions:
        """Base scores, ensemble score, decision and reason codes for a model input matrix."""
        models = self._loaded.models
        base = models.scores(x)
        ens = self._loaded.stacker(base)
        threshold = self.thresholds.value
        fraud = ens >= threshold
        reasons: list[list[str]] = [[] for _ in range(x.shape[0])]
        idx = np.flatnonzero(fraud)
        if idx.size:
            for i, codes in zip(idx.tolist(), self._loaded.reasons.explain(models.contributions, x[idx]), strict=True):
                reasons[i] = codes
        return Decisions(base, ens, fraud, reasons, threshold)

    def prediction_list(
        self,
        transactions: Sequence[schema.Transaction],
        features: pd.DataFrame,
        *,
        produced_at: datetime | None = None,
        scored_at: datetime | None = None,
    ) -> list[schema.Prediction]:
        """The records :meth:`score_frame` + :func:`schema.prediction_records` give, without the frame.

        For small batches (the API's micro-batches) building the 20-column prediction frame
        and reading it back cost ~20x the compiled model call; this builds the records
        straight from the transactions and the score arrays (same values, a unit test
        compares them).
        """
        if len(transactions) != len(features):
            raise ModelError(f"{len(transactions)} transactions but {len(features)} feature rows")
        d = self.decide(self.matrix(features))
        stamp = scored_at if scored_at is not None else datetime.now(UTC)
        names = schema.MODEL_NAMES
        base, ens, fraud = d.base.tolist(), d.ensemble.tolist(), d.fraud.tolist()
        version, threshold = self.version, float(d.threshold)
        return [
            schema.Prediction(
                transaction_id=t.transaction_id,
                card_id=t.card_id,
                event_time=_utc(t.event_time),
                amount=float(t.amount),
                merchant_id=t.merchant_id,
                merchant_category=t.merchant_category,
                scores=dict(zip(names, base[i], strict=True)),
                ensemble_score=ens[i],
                threshold=threshold,
                decision="fraud" if fraud[i] else "legit",
                reasons=d.reasons[i],
                model_version=version,
                is_fraud=t.is_fraud,
                fraud_scenario=t.fraud_scenario or None,
                produced_at=produced_at,
                scored_at=stamp,
            )
            for i, t in enumerate(transactions)
        ]

    def score_batch(
        self, transactions: Sequence[schema.Transaction], pipeline: FeatureTransformer, *, update: bool = True
    ) -> list[schema.Prediction]:
        """Convenience path for small batches: transactions -> features -> predictions."""
        if not transactions:
            return []
        frame = schema.to_frame(transactions)
        features = pipeline.transform(frame, update=update)
        return schema.prediction_records(self.score_frame(frame, features))
