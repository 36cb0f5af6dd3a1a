"""The compiled ONNX graph scores as the libraries do (1e-5), row by row as in a batch.

The rows include missing values in every column and values lying exactly on, just below
and just above split thresholds, where a float32-rounded threshold (what skl2onnx writes)
sends rows the wrong way.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fraudguard.errors import ModelError
from fraudguard.models.compiled import CompiledModels, compile_models
from fraudguard.models.registry import COMPILED_FILE, load_version
from fraudguard.models.scorer import Scorer


def _hard_rows(trained, small_data, n: int = 10_000) -> np.ndarray:
    """``n`` rows: real feature rows, 5% cells missing, a third moved onto split thresholds."""
    _frame, features = small_data
    rng = np.random.default_rng(3)
    base = features.to_numpy(np.float32)
    x = base[rng.integers(0, len(base), n)].copy()
    x[rng.random(x.shape) < 0.05] = np.nan
    tree = trained.models.random_forest.estimators_[0].tree_
    inner = np.flatnonzero(tree.children_left >= 0)
    for i in range(0, n, 3):
        nid = inner[i % inner.size]
        thr = np.float32(tree.threshold[nid])
        x[i, tree.feature[nid]] = np.nextafter(thr, thr + np.float32(i % 2 * 2 - 1))
        x[i + 1 if i + 1 < n else i, tree.feature[nid]] = thr
    return np.ascontiguousarray(x)


def test_compiled_equals_libraries_on_10000_rows(trained, small_data) -> None:
    models = trained.models
    x = _hard_rows(trained, small_data)
    assert np.isnan(x).any()
    compiled = CompiledModels.of(models)
    got = compiled.scores(x, models.calibration)
    want = models.library_scores(x)
    for j, name in enumerate(("xgboost", "random_forest", "isolation_forest")):
        np.testing.assert_allclose(got[:, j], want[:, j], rtol=0, atol=1e-5, err_msg=name)
    # and against the libraries' own predict functions, not only our leaf tables
    import xgboost as xgb

    np.testing.assert_allclose(got[:, 0], models.xgboost.predict(xgb.DMatrix(x)), rtol=0, atol=1e-5)
    np.testing.assert_allclose(got[:, 1], models.random_forest.predict_proba(x)[:, 1], rtol=0, atol=1e-5)
    _margin, _rf, path = compiled.raw(x)
    raw_if = np.exp2(-path / models._if.denominator)
    np.testing.assert_allclose(raw_if, -models.isolation_forest.score_samples(x), rtol=0, atol=1e-5)


def test_compiled_score_does_not_depend_on_batch(trained, small_data) -> None:
    models = trained.models
    x = _hard_rows(trained, small_data, 6000)  # above the two-thread split size
    compiled = CompiledModels.of(models)
    batch = compiled.scores(x, models.calibration)
    for i in range(0, 6000, 97):
        np.testing.assert_array_equal(compiled.scores(x[i : i + 1], models.calibration)[0], batch[i])
    np.testing.assert_array_equal(compiled.scores(x[:100], models.calibration), batch[:100])


def test_compiled_refuses_wrong_input(trained) -> None:
    compiled = CompiledModels.of(trained.models)
    with pytest.raises(ModelError, match="float32"):
        compiled.raw(np.zeros((2, trained.models.n_features), np.float64))
    with pytest.raises(ModelError, match="float32"):
        compiled.raw(np.zeros((2, trained.models.n_features + 1), np.float32))
    with pytest.raises(ModelError, match="compiled models"):
        CompiledModels(b"not an onnx graph", 5, 1, 1.0)


def test_registry_stores_verifies_and_loads_compiled(registry, trained) -> None:
    root, version = registry
    card = json.loads((root / version / "model_card.json").read_text())
    assert COMPILED_FILE in card["artifacts"]
    assert (root / version / COMPILED_FILE).read_bytes() == compile_models(trained.models)
    assert Scorer.load(root).compiled
    assert not Scorer.load(root, compiled=False).compiled


def test_version_without_compiled_artifact_falls_back(registry, small_data, tmp_path: Path) -> None:
    root, version = registry
    copy = tmp_path / "models"
    shutil.copytree(root, copy)
    card_path = copy / version / "model_card.json"
    card = json.loads(card_path.read_text())
    del card["artifacts"][COMPILED_FILE]
    card_path.write_text(json.dumps(card))
    (copy / version / COMPILED_FILE).unlink()
    old = Scorer.load(copy)
    assert not old.compiled
    frame, features = small_data
    a = old.score_frame(frame.iloc[:400], features.iloc[:400])
    b = Scorer.load(root).score_frame(frame.iloc[:400], features.iloc[:400])
    for col in ("score_xgboost", "score_random_forest", "score_isolation_forest", "ensemble_score"):
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-5)


def test_listed_but_missing_compiled_artifact_is_refused(registry, tmp_path: Path) -> None:
    root, version = registry
    copy = tmp_path / "models"
    shutil.copytree(root, copy)
    (copy / version / COMPILED_FILE).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_version(copy, version)


def test_reason_codes_unchanged_with_compiled(registry, small_data) -> None:
    root, _ = registry
    frame, features = small_data
    fast = Scorer.load(root).score_frame(frame, features)
    slow = Scorer.load(root, compiled=False).score_frame(frame, features)
    same = fast["decision"] == slow["decision"]
    assert same.mean() > 0.999
    assert (fast["decision"] == "fraud").sum() > 0
    assert fast.loc[same, "reasons"].tolist() == slow.loc[same, "reasons"].tolist()


def test_single_leaf_trees_compile(trained, small_data) -> None:
    """A booster whose trees never split (nothing to gain) still compiles and scores the same."""
    import dataclasses

    import xgboost as xgb

    _frame, features = small_data
    x = np.ascontiguousarray(features.to_numpy(np.float32))
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "min_child_weight": 1e9, "nthread": 1},
        xgb.DMatrix(x, label=np.zeros(len(x))),
        num_boost_round=3,
    )
    trees = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"]
    assert all(t["left_children"] == [-1] for t in trees)
    models = dataclasses.replace(trained.models, xgboost=booster)
    got = CompiledModels.of(models).scores(x[:500], models.calibration)
    np.testing.assert_allclose(got[:, 0], booster.inplace_predict(x[:500]), rtol=0, atol=1e-5)
