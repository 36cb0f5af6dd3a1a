"""Registry round trip, tamper refusal and feature-list checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fraudguard.errors import ModelError
from fraudguard.models.registry import CURRENT, RF_FILE, XGB_FILE, current_version, list_versions, load_version
from fraudguard.models.scorer import Scorer


def test_round_trip_gives_identical_scores(registry, trained, small_data) -> None:
    root, version = registry
    _frame, features = small_data
    x = np.ascontiguousarray(features.to_numpy(np.float32))
    before = trained.models.scores(x)
    loaded = load_version(root, compiled=False)
    assert loaded.version == version == current_version(root)
    np.testing.assert_array_equal(loaded.models.scores(x), before)
    # the compiled graph (used by default) agrees within 1e-5: see test_compiled.py
    np.testing.assert_allclose(load_version(root).models.scores(x), before, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(loaded.stacker(before), trained.stacker(before))
    assert list_versions(root) == [version]


def test_card_has_required_fields(registry) -> None:
    root, version = registry
    card = json.loads((root / version / "model_card.json").read_text())
    for split in ("test", "validation"):
        for model in ("xgboost", "random_forest", "isolation_forest", "ensemble"):
            m = card["metrics"][split][model]
            for key in (
                "pr_auc",
                "roc_auc",
                "recall_at_1pct_fpr",
                "recall_at_0_1pct_fpr",
                "precision",
                "recall",
                "f1",
                "confusion_matrix",
            ):
                assert key in m
    assert set(card["thresholds"]["ensemble"]) >= {"best_f1", "target_fpr", "cost", "used"}
    ab = card["metrics"]["stateful_ablation"]
    assert ab["pr_auc_with_stateful"] is not None and ab["pr_auc_without_stateful"] is not None
    assert card["features"]["names"] == ["amount_zscore", "velocity_1h", "new_device", "hour_sin", "noise"]
    assert (root / CURRENT).read_text().strip() == version


def _copy(root: Path, version: str, tmp_path: Path) -> Path:
    dst = tmp_path / "models"
    shutil.copytree(root, dst)
    return dst


@pytest.mark.parametrize("artifact", [XGB_FILE, RF_FILE, "ensemble.json", "compiled.onnx"])
def test_tampered_artifact_is_refused(registry, tmp_path, artifact) -> None:
    root, version = registry
    copy = _copy(root, version, tmp_path)
    path = copy / version / artifact
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        Scorer.load(copy)


def test_missing_artifact_is_refused(registry, tmp_path) -> None:
    root, version = registry
    copy = _copy(root, version, tmp_path)
    (copy / version / RF_FILE).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_version(copy, version)


def test_feature_list_mismatch_is_refused(registry, small_data) -> None:
    root, _ = registry
    _, features = small_data
    names = list(features.columns)
    with pytest.raises(ModelError, match="feature list mismatch"):
        Scorer.load(root, feature_names=[*names, "extra_feature"])
    with pytest.raises(ModelError, match="different order"):
        Scorer.load(root, feature_names=list(reversed(names)))
    scorer = Scorer.load(root, feature_names=names)
    frame, _ = small_data
    with pytest.raises(ModelError, match="missing"):
        scorer.score_frame(frame.head(5), features.head(5).drop(columns=["noise"]))


def test_card_feature_list_disagreeing_with_models_is_refused(registry, tmp_path) -> None:
    """A card edited to list other features no longer matches its manifest-verified models."""
    root, version = registry
    copy = _copy(root, version, tmp_path)
    card_path = copy / version / "model_card.json"
    card = json.loads(card_path.read_text())
    card["features"]["names"] = card["features"]["names"][:-1]
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="expects 5 features"):
        load_version(copy, version)


def test_no_registry_and_bad_pointer(tmp_path) -> None:
    with pytest.raises(ModelError, match="fraudguard train"):
        Scorer.load(tmp_path)
    (tmp_path / CURRENT).write_text("../../etc/passwd\n")
    with pytest.raises(ModelError, match="not a version name"):
        Scorer.load(tmp_path)


def test_registry_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    from fraudguard.models.registry import ensure_registry_dir

    blocker = tmp_path / "models"
    blocker.write_text("not a directory")
    with pytest.raises(ModelError, match="cannot create model registry"):
        ensure_registry_dir(blocker)
    assert ensure_registry_dir(tmp_path / "a" / "b").is_dir()
