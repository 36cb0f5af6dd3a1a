"""The three base models: how they are fitted, and how they score a feature matrix.

Training and serving call the same :meth:`BaseModels.scores`, so a registry round trip
cannot change a number. Class imbalance is handled deliberately:

* XGBoost: ``scale_pos_weight = (legit / fraud) ** power`` on the training split, the power
  (1: equal class mass, 0.5: its square root) chosen on validation with the depth (see
  :func:`select_xgboost`); thresholds are chosen afterwards on validation, and the stacker
  maps scores to calibrated probabilities;
* Random Forest: fraud class weight ``(legit / fraud) ** power``, power chosen on validation
  (:func:`select_random_forest`);
* Isolation Forest: fitted on the training features WITHOUT labels (contamination
  ``"auto"``); its anomaly score is rank-calibrated into [0, 1] on validation.

Speed: scikit-learn forests start a thread pool per call when ``n_jobs > 1``, which costs
milliseconds, so :func:`jobs_for` uses one thread below :data:`PARALLEL_MIN_ROWS` rows.
When the registry holds the compiled graph (:mod:`fraudguard.models.compiled`), a loaded
version scores through it instead (~15 µs per single row instead of ~250 µs); training and
versions without it use the libraries, which stay the source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xgboost as xgb
from sklearn.ensemble import IsolationForest, RandomForestClassifier

from fraudguard.errors import ModelError
from fraudguard.models.compiled import CompiledModels
from fraudguard.models.contribs import TreeContributions
from fraudguard.models.ensemble import RankCalibration
from fraudguard.models.leaves import IsolationLeaves, RandomForestLeaves
from fraudguard.models.reasons import contributions_of

PARALLEL_MIN_ROWS = 4096
"""Batches at least this large are scored with two threads."""


def jobs_for(n_rows: int, max_jobs: int = 2) -> int:
    """Threads worth using for a batch of ``n_rows`` (thread start-up dominates small batches)."""
    return max_jobs if n_rows >= PARALLEL_MIN_ROWS else 1


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters, sized for speed at unchanged quality.

    Measured on 500k generated transactions (300k training rows, test split): 80 trees of
    depth 5 at eta 0.25 score XGBoost PR-AUC 0.9425 (200 trees of depth 6 at eta 0.1:
    0.942) at ~1/3 of the prediction cost; a Random Forest of 30 depth-10 trees on 30k-row
    bootstraps with 20 Isolation Forest trees gives ensemble PR-AUC 0.943 (60 trees of depth
    12 on full bootstraps, 60 Isolation trees: 0.943) and fits in seconds instead of minutes.
    """

    xgb_trees: int = 300
    """Most boosting rounds; early stopping on validation PR-AUC usually stops far sooner."""
    xgb_depth: int = 6
    xgb_eta: float = 0.1
    xgb_search: tuple[tuple[int, float], ...] = ((6, 0.5), (4, 0.5), (6, 1.0), (6, 0.25))
    """(max depth, class-weight power) pairs tried by :func:`select_xgboost` on validation; the
    positive class weight is ``(legit / fraud) ** power`` (1.0: equal class mass, 0.5: its
    square root, which measured better on the handbook-like set: validation PR-AUC 0.710 vs 0.667;
    0.25 measured 0.715-0.720 there with the log-amount card features)."""
    xgb_early_stopping: int = 20
    xgb_weight_power: float = 1.0
    """Class-weight power of :func:`fit_xgboost` (the search sets it to the chosen one)."""
    rf_trees: int = 30
    rf_depth: int = 10
    rf_min_leaf: int = 5
    rf_max_samples: int | None = 30_000
    """Rows drawn per Random Forest tree (``None``: a bootstrap of the whole training split)."""
    rf_weight_powers: tuple[float, ...] = (0.5, 1.0)
    """Class-weight powers the Random Forest search tries on validation (sqrt of legit/fraud
    measured +0.05 validation PR-AUC over full re-weighting on the handbook-like set)."""
    if_trees: int = 20
    if_max_samples: int = 256
    refit: bool = True
    """Refit XGBoost and the Random Forest on train + validation once validation has chosen
    (:mod:`fraudguard.models.final_fit`); ``False`` keeps the models fitted on train only."""
    threads: int = 2
    seed: int = 7
    threshold_policy: str = "best_f1"
    fpr_target: float = 0.01
    cost_ratio: float = 20.0


def _xgb_params(y: np.ndarray, cfg: TrainConfig, weight_power: float = 1.0) -> tuple[dict[str, Any], int]:
    pos = int(y.sum())
    if pos == 0 or pos == y.size:
        raise ModelError("the training split needs both fraud and legitimate rows")
    # OpenMP workers spin between rounds: on small data (and a busy machine) one thread is faster
    threads = cfg.threads if y.size >= 50_000 else 1
    params = {
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "tree_method": "hist",
        "max_depth": cfg.xgb_depth,
        "eta": cfg.xgb_eta,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "scale_pos_weight": ((y.size - pos) / pos) ** weight_power,
        "nthread": threads,
        "seed": cfg.seed,
    }
    return params, threads


def fit_xgboost(x: np.ndarray, y: np.ndarray, cfg: TrainConfig) -> xgb.Booster:
    """Gradient-boosted trees with the class weight set from the training split."""
    params, threads = _xgb_params(y, cfg, cfg.xgb_weight_power)
    return xgb.train(params, xgb.DMatrix(x, label=y, nthread=threads), num_boost_round=cfg.xgb_trees)


def select_xgboost(
    xt: np.ndarray, yt: np.ndarray, xv: np.ndarray, yv: np.ndarray, cfg: TrainConfig
) -> tuple[xgb.Booster, dict[str, Any]]:
    """A small search on the time-ordered validation split, never on test.

    One booster per (depth, class-weight power) in ``xgb_search``, each stopped early when validation
    PR-AUC has not improved for ``xgb_early_stopping`` rounds; the best is cut to its best
    round (so serving uses exactly the trees that were selected).
    """
    search = cfg.xgb_search or ((cfg.xgb_depth, 1.0),)
    _, threads = _xgb_params(yt, cfg)
    dtrain = xgb.DMatrix(xt, label=yt, nthread=threads)
    dval = xgb.DMatrix(xv, label=yv, nthread=threads)
    tried: list[dict[str, Any]] = []
    best: xgb.Booster | None = None
    for depth, power in search:
        params, _ = _xgb_params(yt, cfg, power)
        booster = xgb.train(
            {**params, "max_depth": depth},
            dtrain,
            num_boost_round=cfg.xgb_trees,
            evals=[(dval, "validation")],
            early_stopping_rounds=cfg.xgb_early_stopping,
            verbose_eval=False,
        )
        rounds = int(booster.best_iteration) + 1
        score = float(booster.best_score)
        if best is None or score > max(t["validation_aucpr"] for t in tried):
            best = booster[:rounds]
        tried.append(
            {
                "max_depth": depth,
                "class_weight_power": power,
                "scale_pos_weight": params["scale_pos_weight"],
                "rounds": rounds,
                "validation_aucpr": score,
            }
        )
    assert best is not None
    chosen = max(tried, key=lambda t: t["validation_aucpr"])
    chosen_cfg = replace(
        cfg,
        xgb_depth=chosen["max_depth"],
        xgb_trees=chosen["rounds"],
        xgb_search=(),
        xgb_weight_power=chosen["class_weight_power"],
    )
    return best, {
        "xgboost": {
            "tried": tried,
            "chosen": chosen,
            "eta": cfg.xgb_eta,
            "scale_pos_weight": chosen["scale_pos_weight"],
        },
        "config": chosen_cfg,
    }


def fit_random_forest(
    x: np.ndarray, y: np.ndarray, cfg: TrainConfig, weight_power: float = 1.0
) -> RandomForestClassifier:
    """Bagged depth-limited trees; the fraud class weighs ``(legit / fraud) ** weight_power``."""
    pos = max(int(y.sum()), 1)
    rf = RandomForestClassifier(
        n_estimators=cfg.rf_trees,
        max_depth=cfg.rf_depth,
        min_samples_leaf=cfg.rf_min_leaf,
        max_features="sqrt",
        class_weight={0: 1.0, 1: float(((y.size - pos) / pos) ** weight_power)},
        n_jobs=cfg.threads,
        random_state=cfg.seed,
        max_samples=None if cfg.rf_max_samples is None or cfg.rf_max_samples >= len(y) else cfg.rf_max_samples,
    )
    return rf.fit(x, y)


def select_random_forest(
    xt: np.ndarray, yt: np.ndarray, xv: np.ndarray, yv: np.ndarray, cfg: TrainConfig
) -> tuple[RandomForestClassifier, dict[str, Any]]:
    """The Random Forest whose class-weight power (``cfg.rf_weight_powers``) scores best on validation."""
    from sklearn.metrics import average_precision_score

    tried: list[dict[str, Any]] = []
    best: RandomForestClassifier | None = None
    for power in cfg.rf_weight_powers or (1.0,):
        rf = fit_random_forest(xt, yt, cfg, power)
        score = float(average_precision_score(yv, RandomForestLeaves.of(rf).proba(np.ascontiguousarray(xv), 1)))
        if best is None or score > max(t["validation_pr_auc"] for t in tried):
            best = rf
        tried.append({"class_weight_power": power, "validation_pr_auc": score})
    assert best is not None
    return best, {"tried": tried, "chosen": max(tried, key=lambda t: t["validation_pr_auc"])}


def fit_isolation_forest(x: np.ndarray, cfg: TrainConfig) -> IsolationForest:
    """Unsupervised anomaly detector: it never sees a label."""
    return IsolationForest(
        n_estimators=cfg.if_trees,
        max_samples=min(cfg.if_max_samples, x.shape[0]),
        n_jobs=cfg.threads,
        random_state=cfg.seed,
    ).fit(x)


def anomaly(iforest: IsolationForest, x: np.ndarray) -> np.ndarray:
    """Raw anomaly score, higher = more anomalous (what :class:`BaseModels` calibrates)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return IsolationLeaves.of(iforest).anomaly(x, jobs_for(x.shape[0]))


@dataclass
class BaseModels:
    """Fitted base models plus the Isolation Forest calibration: everything to score a matrix."""

    xgboost: xgb.Booster
    random_forest: RandomForestClassifier
    isolation_forest: IsolationForest
    calibration: RankCalibration
    n_features: int
    _rf: RandomForestLeaves = field(init=False, repr=False)
    _if: IsolationLeaves = field(init=False, repr=False)
    _xgb_threads: int = field(init=False, repr=False, default=0)
    compiled: CompiledModels | None = field(default=None, repr=False)
    """ONNX Runtime session over the same trees; ``scores`` uses it when set."""

    def __post_init__(self) -> None:
        self._rf = RandomForestLeaves.of(self.random_forest)
        self._if = IsolationLeaves.of(self.isolation_forest)

    @property
    def contributions(self) -> TreeContributions:
        """XGBoost per-feature contributions (reason codes), built on first use."""
        return contributions_of(self.xgboost, self.n_features)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """``(n, 3)`` fraud scores in [0, 1], columns in :data:`fraudguard.schema.MODEL_NAMES` order."""
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ModelError(f"feature matrix has shape {x.shape}, the models expect {self.n_features} columns")
        x = np.ascontiguousarray(x, dtype=np.float32)  # tree traversal without input checks needs float32
        n = x.shape[0]
        out = np.empty((n, 3), dtype=np.float64)
        if n == 0:
            return out
        if self.compiled is not None:
            return self.compiled.scores(x, self.calibration)
        return self.library_scores(x)

    def library_scores(self, x: np.ndarray) -> np.ndarray:
        """:meth:`scores` through XGBoost and the leaf tables, never the compiled graph."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = x.shape[0]
        out = np.empty((n, 3), dtype=np.float64)
        if n == 0:
            return out
        jobs = jobs_for(n)
        if jobs != self._xgb_threads:
            self.xgboost.set_param({"nthread": jobs})
            self._xgb_threads = jobs
        out[:, 0] = self.xgboost.inplace_predict(x)
        out[:, 1] = self._rf.proba(x, jobs)
        out[:, 2] = self.calibration(self._if.anomaly(x, jobs))
        return out
