"""The model card: what a version was trained on, how well it did, and how it decides.

Readers (people, the API's ``/models`` route, the lead's report) get one JSON document
with the data source and its sha256, split sizes, feature names in model order, every
threshold policy, library versions and the metrics of every model on validation and test.
"""

from __future__ import annotations

import platform
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from fraudguard import schema
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


def build_card(
    result: TrainResult,
    *,
    features_meta: dict[str, Any],
    source: dict[str, Any],
    cfg: TrainConfig,
    seconds: float,
) -> dict[str, Any]:
    """JSON-ready card (the registry adds ``version`` and the ``artifacts`` manifest)."""
    ens = result.thresholds[schema.ENSEMBLE]
    rows = sum(s["rows"] for s in result.splits.values())
    frauds = sum(s["frauds"] for s in result.splits.values())
    return {
        "card_schema": CARD_SCHEMA,
        "created_at": datetime.now(UTC).isoformat(),
        "training_seconds": round(seconds, 3),
        "data": {**source, "rows": rows, "frauds": frauds, "splits": result.splits, "split": "event_time 60/20/20"},
        "features": features_meta,
        "models": [*schema.MODEL_NAMES, schema.ENSEMBLE],
        "thresholds": {m: t.to_dict() for m, t in result.thresholds.items()},
        "decision": {"model": schema.ENSEMBLE, "policy": ens.used, "threshold": ens.value},
        "metrics": {**result.metrics, "stateful_ablation": result.ablation},
        "method": {
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
        "selection": result.selection,
        "warnings": result.warnings,
        "hyperparameters": asdict(cfg),
        "libraries": library_versions(),
    }
