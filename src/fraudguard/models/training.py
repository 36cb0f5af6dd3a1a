"""Fit, threshold and evaluate every model on a time-ordered train / validation / test split.

The split is by event time (60 / 20 / 20 by default), never random: fraud patterns and
per-card histories drift, and a random split would let the models peek at the future.
Base models fit on train; Isolation Forest calibration, the stacker and every threshold
come from validation; every headline number comes from test, which nothing was fitted on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.errors import DataFormatError, ModelError
from fraudguard.models.ensemble import RankCalibration, Stacker, fit_stacker
from fraudguard.models.estimators import (
    BaseModels,
    TrainConfig,
    anomaly,
    fit_isolation_forest,
    fit_xgboost,
    select_random_forest,
    select_xgboost,
)
from fraudguard.models.metrics import evaluate
from fraudguard.models.reasons import ReasonCoder
from fraudguard.models.thresholds import Thresholds, choose_thresholds

SPLITS: tuple[str, ...] = ("train", "validation", "test")
StepFn = Callable[[str], None]
MIN_SPLIT_FRAUDS = 30
"""Below this many frauds in a split its metrics (and what was tuned on it) are mostly noise."""


@dataclass
class TrainResult:
    """Fitted models and everything the model card reports about them."""

    models: BaseModels
    stacker: Stacker
    reasons: ReasonCoder
    thresholds: dict[str, Thresholds]
    metrics: dict[str, dict[str, Any]]
    ablation: dict[str, Any]
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def time_split(event_time: pd.Series, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> dict[str, np.ndarray]:
    """Positions of train / validation / test rows, cut in event-time order.

    Ties in event time keep input order (stable sort), so the split is reproducible.
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ModelError(f"split fractions must be three positive numbers summing to 1, got {fractions}")
    order = np.argsort(event_time.to_numpy(), kind="stable")
    n = order.size
    a = round(n * fractions[0])
    b = round(n * (fractions[0] + fractions[1]))
    return {"train": order[:a], "validation": order[a:b], "test": order[b:]}


def _labels(frame: pd.DataFrame) -> np.ndarray:
    if "is_fraud" not in frame.columns:
        raise DataFormatError("is_fraud: training needs a label column")
    y = frame["is_fraud"].to_numpy(dtype=np.float64)
    missing = int(np.isnan(y).sum())
    if missing:
        raise DataFormatError(f"is_fraud: {missing} of {y.size} rows have no label; training needs every label")
    return (y >= 0.5).astype(np.int64)


def _split_info(frame: pd.DataFrame, y: np.ndarray, parts: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    info: dict[str, dict[str, Any]] = {}
    times = frame["event_time"]
    for name, idx in parts.items():
        frauds = int(y[idx].sum())
        if idx.size == 0 or frauds == 0 or frauds == idx.size:
            raise DataFormatError(
                f"the {name} split ({idx.size} rows, {frauds} frauds) needs both fraud and legitimate rows; "
                "use more data or data whose frauds are spread over time"
            )
        t = times.iloc[idx]
        info[name] = {"rows": int(idx.size), "frauds": frauds, "start": t.min().isoformat(), "end": t.max().isoformat()}
    return info


def small_split_warnings(splits: dict[str, dict[str, Any]]) -> list[str]:
    """One warning per split with fewer than :data:`MIN_SPLIT_FRAUDS` frauds."""
    return [
        f"the {name} split has only {s['frauds']} frauds (< {MIN_SPLIT_FRAUDS}): its metrics are unreliable; "
        "train on more labelled data"
        for name, s in splits.items()
        if s["frauds"] < MIN_SPLIT_FRAUDS
    ]


def train_models(
    frame: pd.DataFrame,
    features: pd.DataFrame,
    stateful: Sequence[str] = (),
    cfg: TrainConfig | None = None,
    step: StepFn | None = None,
) -> TrainResult:
    """Train, calibrate, stack, threshold and evaluate on one frame and its aligned features.

    ``stateful`` names the per-card / per-merchant features; an extra XGBoost is fitted
    without them to report what history adds (``ablation``).
    """
    cfg = cfg or TrainConfig()
    say = step or (lambda _msg: None)
    if len(frame) != len(features):
        raise ModelError(f"frame has {len(frame)} rows but features have {len(features)}")
    names = tuple(str(c) for c in features.columns)
    y = _labels(frame)
    parts = time_split(frame["event_time"])
    splits = _split_info(frame, y, parts)
    warnings = small_split_warnings(splits)
    for w in warnings:
        say(f"WARNING: {w}")
    x = np.ascontiguousarray(features.to_numpy(dtype=np.float32))
    xs = {k: x[v] for k, v in parts.items()}
    ys = {k: y[v] for k, v in parts.items()}

    say(f"XGBoost (up to {cfg.xgb_trees} trees, early stopping on validation) on {splits['train']['rows']:,} rows")
    booster, selection = select_xgboost(xs["train"], ys["train"], xs["validation"], ys["validation"], cfg)
    say(f"Random Forest ({cfg.rf_trees} trees)")
    rf, selection["random_forest"] = select_random_forest(
        xs["train"], ys["train"], xs["validation"], ys["validation"], cfg
    )
    say(f"Isolation Forest ({cfg.if_trees} trees, no labels)")
    iforest = fit_isolation_forest(xs["train"], cfg)
    calibration = RankCalibration.fit(anomaly(iforest, xs["validation"]))
    models = BaseModels(booster, rf, iforest, calibration, n_features=len(names))

    say("ensemble stacker and thresholds on validation")
    base = {k: models.scores(xs[k]) for k in ("validation", "test")}
    stacker, oof, selection["isolation_forest"] = _stacker_with_or_without_if(base, ys)
    scores = {k: {m: base[k][:, j] for j, m in enumerate(schema.MODEL_NAMES)} for k in ("validation", "test")}
    scores["validation"][schema.ENSEMBLE] = oof
    scores["test"][schema.ENSEMBLE] = stacker(base["test"])
    thresholds = {
        m: choose_thresholds(
            ys["validation"],
            s,
            used=cfg.threshold_policy,  # type: ignore[arg-type]
            fpr_target=cfg.fpr_target,
            cost_ratio=cfg.cost_ratio,
        )
        for m, s in scores["validation"].items()
    }
    metrics = {
        split: {m: evaluate(ys[split], s, thresholds[m].value) for m, s in scores[split].items()}
        for split in ("validation", "test")
    }
    ablation = _ablation(xs, ys, names, stateful, selection.pop("config"), metrics, say)
    say("reason-code facts")
    reasons = ReasonCoder.fit(names, xs["train"])
    return TrainResult(models, stacker, reasons, thresholds, metrics, ablation, splits, selection, warnings)


def _stacker_with_or_without_if(
    base: dict[str, np.ndarray], ys: dict[str, np.ndarray]
) -> tuple[Stacker, np.ndarray, dict[str, Any]]:
    """Stack with Isolation Forest, and without it (weight 0); keep the one better on validation.

    Both variants' out-of-fold validation PR-AUC and test PR-AUC go to the model card, so the
    Isolation Forest's measured contribution is on record whichever way it went.
    """
    from sklearn.metrics import average_precision_score

    with_if, oof_with = fit_stacker(schema.MODEL_NAMES, base["validation"], ys["validation"])
    j = schema.MODEL_NAMES.index("isolation_forest")
    keep = [i for i in range(len(schema.MODEL_NAMES)) if i != j]
    sup, oof_without = fit_stacker(
        tuple(schema.MODEL_NAMES[i] for i in keep), base["validation"][:, keep], ys["validation"]
    )
    weights = np.zeros(len(schema.MODEL_NAMES))
    weights[keep] = sup.weights
    without_if = Stacker(models=schema.MODEL_NAMES, weights=weights, bias=sup.bias)
    val = {"with": average_precision_score(ys["validation"], oof_with)}
    val["without"] = average_precision_score(ys["validation"], oof_without)
    test = {
        k: average_precision_score(ys["test"], st(base["test"]))
        for k, st in (("with", with_if), ("without", without_if))
    }
    kept = bool(val["with"] > val["without"])
    info = {
        "kept_in_ensemble": kept,
        "validation_pr_auc_with": float(val["with"]),
        "validation_pr_auc_without": float(val["without"]),
        "test_pr_auc_with": float(test["with"]),
        "test_pr_auc_without": float(test["without"]),
        "rule": "kept only if the out-of-fold validation PR-AUC of the stacker is higher with it",
    }
    return (with_if, oof_with, info) if kept else (without_if, oof_without, info)


def _ablation(
    xs: dict[str, np.ndarray],
    ys: dict[str, np.ndarray],
    names: tuple[str, ...],
    stateful: Sequence[str],
    cfg: TrainConfig,
    metrics: dict[str, dict[str, Any]],
    say: StepFn,
) -> dict[str, Any]:
    """Test PR-AUC of XGBoost with and without the stateful (per-card / merchant) features."""
    stateful_set = [n for n in names if n in set(stateful)]
    out: dict[str, Any] = {
        "model": "xgboost",
        "stateful_features": stateful_set,
        "pr_auc_with_stateful": metrics["test"]["xgboost"]["pr_auc"],
        "ensemble_pr_auc_with_stateful": metrics["test"][schema.ENSEMBLE]["pr_auc"],
    }
    keep = [j for j, n in enumerate(names) if n not in set(stateful_set)]
    if not stateful_set or not keep:
        out["pr_auc_without_stateful"] = None
        out["note"] = "no stateful features to remove" if not stateful_set else "every feature is stateful"
        return out
    say(f"ablation: XGBoost without {len(stateful_set)} stateful features")
    booster = fit_xgboost(np.ascontiguousarray(xs["train"][:, keep]), ys["train"], cfg)
    s = booster.inplace_predict(np.ascontiguousarray(xs["test"][:, keep]))
    out["pr_auc_without_stateful"] = evaluate(ys["test"], s, 0.5)["pr_auc"]
    return out
