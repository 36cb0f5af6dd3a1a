"""Model selection on validation: early stopping, Isolation Forest's measured place, small-split warnings."""

from __future__ import annotations

from fraudguard.models.training import MIN_SPLIT_FRAUDS, TrainResult, train_models

from .conftest import SMALL, make_frame_and_features


def test_selection_is_recorded(trained: TrainResult) -> None:
    xgb = trained.selection["xgboost"]
    assert [(t["max_depth"], t["class_weight_power"]) for t in xgb["tried"]] == list(SMALL.xgb_search)
    assert 1 <= xgb["chosen"]["rounds"] <= SMALL.xgb_trees
    assert trained.models.xgboost.num_boosted_rounds() == xgb["chosen"]["rounds"]
    assert xgb["scale_pos_weight"] > 1  # explicit class weight: legit / fraud on train
    iso = trained.selection["isolation_forest"]
    kept = iso["validation_pr_auc_with"] > iso["validation_pr_auc_without"]
    assert iso["kept_in_ensemble"] is kept
    weight = trained.stacker.weights[trained.stacker.models.index("isolation_forest")]
    assert (weight != 0) if kept else (weight == 0)
    assert trained.warnings == []  # ~200 frauds: every split has enough


def test_split_with_few_frauds_warns() -> None:
    frame, features = make_frame_and_features(n=3000, seed=4, fraud_rate=0.012)
    said: list[str] = []
    result = train_models(frame, features, cfg=SMALL, step=said.append)
    assert result.warnings
    assert all(f"< {MIN_SPLIT_FRAUDS}" in w for w in result.warnings)
    assert any(m.startswith("WARNING: the") for m in said)
