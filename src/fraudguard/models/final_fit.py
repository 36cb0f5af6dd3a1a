"""The registered supervised models are refitted on train + validation with what validation chose.

Why: the time split has three jobs. Validation chooses (XGBoost depth, class weight and
rounds, the Random Forest's class weight, the stacker, every threshold) and test measures.
But a model that keeps only the first 60 % of a team's history leaves the next 20 % unused,
and those are the rows most like tomorrow's traffic; with few frauds (a two-day set with 492)
it also leaves a fifth of the frauds out. A textbook baseline fitted on the first 80 % beat
the same recipe fitted on the first 60 % on such a set. So once validation has chosen,
XGBoost and the Random Forest are fitted again, on train + validation, with the chosen
settings; XGBoost's rounds grow with the rows (``rounds * rows_now / rows_chosen_on``, at
most ``xgb_trees``), as a boosted model early-stopped on fewer rows is under-fitted on more.

What stays: the Isolation Forest and its calibration (no labels to gain), the stacker and
the thresholds (they were fitted on out-of-sample validation scores, which cannot be had
for models that saw validation: they carry over, as in any refit after model selection).
Test is still never fitted on, so the card's test metrics are those of the registered
models; the split-fitted models' test metrics are kept in ``selection.final_fit`` next to
them, so the refit's measured effect is on record in every card.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.models.estimators import BaseModels, TrainConfig, fit_random_forest, fit_xgboost
from fraudguard.models.metrics import evaluate
from fraudguard.models.training import TrainResult, time_split


def refit_rounds(chosen_rounds: int, rows_chosen_on: int, rows_now: int, most: int) -> int:
    """XGBoost rounds for ``rows_now`` rows when early stopping chose ``chosen_rounds`` on fewer."""
    scaled = round(chosen_rounds * rows_now / max(rows_chosen_on, 1))
    return max(chosen_rounds, min(scaled, most))


def refit_on_validation(
    result: TrainResult, frame: pd.DataFrame, features: pd.DataFrame, cfg: TrainConfig
) -> TrainResult:
    """``result`` with XGBoost and the Random Forest refitted on train + validation.

    ``frame`` and ``features`` are the ones :func:`~fraudguard.models.training.train_models`
    was given (the split is recomputed, identically). Test metrics are recomputed for the
    refitted models at the thresholds validation chose.
    """
    parts = time_split(frame["event_time"])
    y = (frame["is_fraud"].to_numpy(dtype=np.float64) >= 0.5).astype(np.int64)
    fit_rows = np.concatenate([parts["train"], parts["validation"]])

    matrix = features.to_numpy(dtype=np.float32, copy=False)  # a view when the frame is one float32 block

    def rows(idx: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.take(matrix, idx, axis=0))

    xf, yf, xt, yt = rows(fit_rows), y[fit_rows], rows(parts["test"]), y[parts["test"]]
    chosen = result.selection["xgboost"]["chosen"]
    rounds = refit_rounds(int(chosen["rounds"]), parts["train"].size, fit_rows.size, cfg.xgb_trees)
    xcfg = replace(
        cfg,
        xgb_depth=int(chosen["max_depth"]),
        xgb_weight_power=float(chosen["class_weight_power"]),
        xgb_trees=rounds,
    )
    booster = fit_xgboost(xf, yf, xcfg)
    rf_power = float(result.selection["random_forest"]["chosen"]["class_weight_power"])
    rf = fit_random_forest(xf, yf, cfg, rf_power)
    old = result.models
    models = BaseModels(booster, rf, old.isolation_forest, old.calibration, n_features=old.n_features)
    base = models.scores(xt)
    scores = {m: base[:, j] for j, m in enumerate(schema.MODEL_NAMES)}
    scores[schema.ENSEMBLE] = result.stacker(base)
    test = {m: evaluate(yt, s, result.thresholds[m].value) for m, s in scores.items()}
    before = result.metrics["test"]
    info: dict[str, Any] = {
        "fitted_on": "train+validation",
        "rows": int(fit_rows.size),
        "frauds": int(yf.sum()),
        "xgboost_rounds": rounds,
        "random_forest_class_weight_power": rf_power,
        "kept_from_the_split": "isolation forest and its calibration, stacker weights, thresholds",
        "test_before_refit": {
            m: {k: before[m][k] for k in ("pr_auc", "recall_at_1pct_fpr", "recall_at_0_1pct_fpr")} for m in before
        },
    }
    return replace(
        result,
        models=models,
        metrics={**result.metrics, "test": test},
        selection={**result.selection, "final_fit": info},
    )
