"""The model card: what a version was trained on, how well it did, and how it decides.

Readers (people, the API's ``/models`` route, the lead's report) get one JSON document
with the data source and its sha256, split sizes, feature names in model order, every
threshold policy, library versions and the metrics of every model on validation and test.

:class:`ModelCard` is its type: the registry writes it and reads it back, and the scorer,
the engines and the lifecycle read its fields instead of indexing a dict. The JSON is the
one written before the type existed (same keys, same order, same formatting), so existing
registries load unchanged. Nested reports (metrics, method, selection, drift reference)
stay plain JSON objects: people read them, code reads only a few documented keys.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
from msgspec import UNSET, UnsetType

from fraudguard import schema
from fraudguard.errors import ModelError
from fraudguard.features.config import FeatureConfig

if TYPE_CHECKING:
    from fraudguard.models.estimators import TrainConfig
    from fraudguard.models.training import TrainResult

CARD_SCHEMA = 1
_LIBRARIES = ("fraudguard", "numpy", "pandas", "scikit-learn", "xgboost-cpu", "xgboost", "skops", "pyarrow")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries whose formats or numbers the models depend on."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


class FeaturesMeta(msgspec.Struct, frozen=True, kw_only=True):
    """The card's ``features``: what the models take, in model order, and how it is computed."""

    names: list[str]
    stateful: list[str] | UnsetType = UNSET
    extras: list[str] | UnsetType = UNSET
    """Pass-through ``x_*`` columns the models use (ULB's V1..V28)."""
    config: dict[str, Any] | UnsetType = UNSET
    """:meth:`FeatureConfig.to_dict` of the pipeline the models were trained with."""
    dtype: str | UnsetType = UNSET


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The card's ``decision``: which score decides, under which threshold policy, at which value."""

    model: str
    policy: str
    threshold: float


class ModelCard(msgspec.Struct, frozen=True, kw_only=True):
    """One version's ``model_card.json``; field names and order are the JSON's.

    Fields a version written by older code may lack have defaults; ``drift_reference``
    (added by training), ``version`` and ``artifacts`` (added by the registry) are absent
    (``UNSET``) until set and are then written.
    """

    card_schema: int
    created_at: str
    training_seconds: float
    data: dict[str, Any]
    features: FeaturesMeta
    models: list[str]
    thresholds: dict[str, dict[str, Any]]
    """Per model, :meth:`Thresholds.to_dict`."""
    decision: Decision
    metrics: dict[str, Any]
    method: dict[str, Any]
    selection: dict[str, Any] = {}
    warnings: list[str] = []
    hyperparameters: dict[str, Any]
    libraries: dict[str, str]
    drift_reference: dict[str, Any] | UnsetType = UNSET
    version: str | UnsetType = UNSET
    artifacts: dict[str, str] | UnsetType = UNSET
    """sha256 per artifact file of the version (the registry's manifest)."""

    @classmethod
    def from_json(cls, data: bytes | str) -> ModelCard:
        """Decode and check a card; :class:`ModelError` naming the field when it is not one."""
        try:
            return msgspec.json.decode(data, type=cls)
        except msgspec.DecodeError as e:  # ValidationError is a DecodeError
            raise ModelError(f"not a valid model card: {e}") from e

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, fields in order, absent ones left out."""
        return msgspec.to_builtins(self, enc_hook=_plain)  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """The file's text: two-space indent, no NaN, trailing newline."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature columns the models expect, in order."""
        return tuple(self.features.names)

    @property
    def extras(self) -> tuple[str, ...]:
        """Pass-through ``x_*`` feature columns the models use."""
        return () if isinstance(self.features.extras, UnsetType) else tuple(self.features.extras)

    def feature_config(self) -> FeatureConfig:
        """The :class:`FeatureConfig` the models were trained with: serving must use exactly this.

        Windows of another length give features the model never saw. A card without the
        long card windows (or the merchant streak) predates them: its models were trained
        without them.
        """
        raw = {} if isinstance(self.features.config, UnsetType) else self.features.config
        old: dict[str, Any] = (
            {"card_history_days": (), "fraud_risk_windows_s": ()} if "card_history_days" not in raw else {}
        )
        if "merchant_streak" not in raw:  # a card from before the streak features
            old["merchant_streak"] = False
        return FeatureConfig(**(old | {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}))

    def drift(self) -> dict[str, Any]:
        """The drift reference (quantile bins per feature and score); empty when absent."""
        return {} if isinstance(self.drift_reference, UnsetType) else self.drift_reference


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers (training reports may hold them)."""
    if isinstance(value, np.generic):
        return value.item()
    raise NotImplementedError(f"cannot write a {type(value).__name__} into a model card")


def build_card(
    result: TrainResult,
    *,
    features_meta: dict[str, Any],
    source: dict[str, Any],
    cfg: TrainConfig,
    seconds: float,
    drift_reference: dict[str, Any] | UnsetType = UNSET,
) -> ModelCard:
    """The card of a trained version (the registry adds ``version`` and the ``artifacts`` manifest)."""
    ens = result.thresholds[schema.ENSEMBLE]
    rows = sum(s["rows"] for s in result.splits.values())
    frauds = sum(s["frauds"] for s in result.splits.values())
    return ModelCard(
        card_schema=CARD_SCHEMA,
        created_at=datetime.now(UTC).isoformat(),
        training_seconds=round(seconds, 3),
        data={**source, "rows": rows, "frauds": frauds, "splits": result.splits, "split": "event_time 60/20/20"},
        features=FeaturesMeta(**features_meta),
        models=[*schema.MODEL_NAMES, schema.ENSEMBLE],
        thresholds={m: t.to_dict() for m, t in result.thresholds.items()},
        decision=Decision(model=schema.ENSEMBLE, policy=ens.used, threshold=ens.value),
        metrics={**result.metrics, "stateful_ablation": result.ablation},
        method={
            "split": "time-ordered by event_time: first 60% train, next 20% validation, last 20% test",
            "imbalance": {
                "xgboost": "scale_pos_weight = legit/fraud on train",
                "random_forest": "class_weight {1: (legit/fraud) ** power}, power chosen on validation",
                "isolation_forest": "unsupervised, fitted on train features without labels",
            },
            "isolation_forest_score": "empirical CDF of validation anomaly scores (1001 quantiles, linear interpolation)",
            "ensemble": "logistic regression on base-score logits, fitted on validation; ensemble thresholds "
            "and validation metrics use 5-fold contiguous out-of-fold stacker scores",
            "thresholds": "chosen on validation: best F1, lowest threshold with FPR <= fpr_target, "
            "minimum of cost_ratio*missed_frauds + alerts",
            "stacker_weights": result.stacker.to_dict(),
            "label_delay_s": features_meta.get("config", {}).get("label_delay_s"),
            "label_delay": "a fraud label counts in merchant features only label_delay_s after its transaction, "
            "in training exactly as in the stream",
            "class_weights": {
                "xgboost_scale_pos_weight": result.selection.get("xgboost", {}).get("scale_pos_weight"),
                "random_forest_weight_power": result.selection.get("random_forest", {})
                .get("chosen", {})
                .get("class_weight_power"),
            },
            "calibration": "the ensemble score is a logistic regression fitted on validation "
            "(Platt scaling of the base models' logits): a calibrated probability on validation",
        },
        selection=result.selection,
        warnings=result.warnings,
        hyperparameters=asdict(cfg),
        libraries=library_versions(),
        drift_reference=drift_reference,
    )
