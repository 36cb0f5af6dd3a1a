"""The typed model card reads registries written before it existed, and writes the same JSON.

``tests/fixtures/registry_v1`` is a complete registry version (tiny models, real features)
written by the code of commit 4dfd260, when the card was a plain dict. The features and
scores below were computed by that code on the same generated stream.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest

from fraudguard.errors import ModelError
from fraudguard.features import FeatureConfig
from fraudguard.models.card import ModelCard
from fraudguard.models.registry import CARD, current_version, load_version, read_card, save_version
from fraudguard.models.scorer import Scorer

V1 = Path(__file__).parents[2] / "fixtures" / "registry_v1"
V1_SCORES = {
    "features_sha256": "e69a5a916f764c2ec1cd21f9e5880a375eac4fc96d3e212456b8f3208c110d3d",
    "ensemble_head": [0.02234487692710969, 0.1473393620239963, 0.011801120007236147, 0.02234487692710969],
}
"""What the dict-card code computed with this registry on the stream of :func:`_stream_scores`.

The features are NumPy arithmetic and equal to the bit on every machine. The ensemble's
scores come from ONNX Runtime, whose kernels are chosen by the CPU's instruction set: the
whole array (``registry_v1_ensemble.npy``, written on 2026-11-30 on a machine without
AVX-512; the dict code's own array, computed on an earlier machine, had the SHA-256
``cebe17c5...``) is not bit-identical across machines (the first four scores still are;
here the compiled graph and the libraries differ by at most 9.3e-8), so it is compared to
:data:`SCORE_TOLERANCE`, as compiled scores are to the libraries'."""
V1_ENSEMBLE = Path(__file__).parents[2] / "fixtures" / "registry_v1_ensemble.npy"
SCORE_TOLERANCE = 1e-5


def _v1_version() -> str:
    return current_version(V1)


def test_a_card_written_by_the_dict_code_loads_and_writes_back_byte_for_byte() -> None:
    version = _v1_version()
    text = (V1 / version / CARD).read_text(encoding="utf-8")
    card = read_card(V1, version)
    assert card.to_json() == text
    raw = json.loads(text)
    assert list(card.to_dict()) == list(raw)
    assert card.version == version and card.artifacts == raw["artifacts"]
    assert card.feature_names == tuple(raw["features"]["names"]) and len(card.feature_names) > 40
    assert card.decision.policy == raw["decision"]["policy"] and card.decision.threshold == raw["decision"]["threshold"]
    assert card.feature_config() == FeatureConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in raw["features"]["config"].items()},
        merchant_streak=False,  # written before the streak features: its models never saw them
    )
    assert card.drift() == raw["drift_reference"] and card.drift()["features"]


def _stream_scores(scorer: Scorer) -> tuple[np.ndarray, np.ndarray]:
    from fraudguard.generator import generate_frame

    frame = generate_frame(1500, fraud_rate=0.05, seed=23, customers=200, merchants=60)
    pipe = scorer.make_pipeline()
    feats, ens = [], []
    for start, size in ((0, 1), (1, 7), (8, 492), (500, 1000)):
        part = frame.iloc[start : start + size]
        f = pipe.transform(part)
        feats.append(f.to_numpy())
        ens.append(scorer.score_frame(part, f)["ensemble_score"].to_numpy())
    return np.concatenate(feats).astype(np.float32), np.concatenate(ens).astype(np.float64)


def test_a_registry_written_by_the_dict_code_scores_exactly_as_it_did() -> None:
    scorer = Scorer.load(V1)
    assert scorer.version == _v1_version() and scorer.compiled
    features, ensemble = _stream_scores(scorer)
    assert hashlib.sha256(np.ascontiguousarray(features).tobytes()).hexdigest() == V1_SCORES["features_sha256"]
    assert np.allclose(ensemble[:4], V1_SCORES["ensemble_head"], rtol=0, atol=SCORE_TOLERANCE)
    np.testing.assert_allclose(ensemble, np.load(V1_ENSEMBLE), rtol=0, atol=SCORE_TOLERANCE)


def test_a_new_version_writes_the_same_keys_in_the_same_order(tmp_path: Path, registry) -> None:
    root, version = registry
    old = json.loads((V1 / _v1_version() / CARD).read_text(encoding="utf-8"))
    loaded = load_version(root, version, compiled=False)
    card = msgspec.structs.replace(loaded.card, drift_reference=old["drift_reference"])
    again = save_version(tmp_path / "models", loaded.models, loaded.stacker, loaded.reasons, card)
    written = json.loads((tmp_path / "models" / again / CARD).read_text(encoding="utf-8"))
    assert list(written) == list(old)
    assert written["version"] == again and set(written["artifacts"]) == set(old["artifacts"])
    assert load_version(tmp_path / "models", again).card.drift() == old["drift_reference"]


def test_a_card_without_long_windows_or_config_keeps_its_own_feature_set() -> None:
    raw = json.loads((V1 / _v1_version() / CARD).read_text(encoding="utf-8"))
    config = dict(raw["features"]["config"])
    del config["card_history_days"], config["fraud_risk_windows_s"]
    older = ModelCard.from_json(json.dumps({**raw, "features": {**raw["features"], "config": config}}))
    assert older.feature_config().card_history_days == () and older.feature_config().fraud_risk_windows_s == ()
    assert older.feature_config().card_windows_s == tuple(config["card_windows_s"])
    bare = {k: v for k, v in raw.items() if k not in ("selection", "warnings", "drift_reference")}
    minimal = ModelCard.from_json(json.dumps({**bare, "features": {"names": ["a", "b"]}}))
    assert minimal.extras == () and minimal.selection == {} and minimal.warnings == [] and minimal.drift() == {}
    assert minimal.feature_config() == FeatureConfig(
        card_history_days=(), fraud_risk_windows_s=(), merchant_streak=False
    )
    assert not older.feature_config().merchant_streak  # a card from before the merchant streak features
    assert FeatureConfig().merchant_streak
    assert list(minimal.to_dict()["features"]) == ["names"]


def test_a_broken_card_is_refused_with_the_field_named(tmp_path: Path) -> None:
    root = tmp_path / "models"
    shutil.copytree(V1, root)
    version = _v1_version()
    path = root / version / CARD
    raw = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**raw, "decision": {"model": "ensemble", "policy": "best_f1"}}), encoding="utf-8")
    with pytest.raises(ModelError, match=r"model_card.json is not a valid model card.*threshold"):
        load_version(root, version)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not a valid model card"):
        read_card(root, version)
    with pytest.raises(ModelError, match="not a model version"):
        read_card(root, "../etc")
