"""A model switch keeps feature state when the feature configuration is the same, and clears
every store (Redis included) when it is not: the new model then starts over, as logged.

The registry is a copy of ``tests/fixtures/registry_v1`` plus two copies of its version: one
with the same card, one whose feature configuration keeps fewer events per card (the same
feature names, so the same models load; only the card, which the manifest does not cover,
differs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fraudguard.engines.common.models import ModelWatcher
from fraudguard.engines.local.scoring import PipelineProcessor
from fraudguard.features import FeaturePipeline, FeatureStores
from fraudguard.generator import generate_frame
from fraudguard.models.registry import CARD, current_version, write_current

pytestmark = pytest.mark.integration

V1 = Path(__file__).parents[1] / "fixtures" / "registry_v1"
SAME = "v20990101-000000-00000001"
OTHER = "v20990101-000000-00000002"


def _registry(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    shutil.copytree(V1, root)
    first = current_version(root)
    for name in (SAME, OTHER):
        shutil.copytree(root / first, root / name)
    card = json.loads((root / OTHER / CARD).read_text(encoding="utf-8"))
    card["features"]["config"]["max_card_entries"] = 7
    (root / OTHER / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return root


def _stores(kind: str, request: pytest.FixtureRequest) -> FeatureStores:
    if kind == "memory":
        return FeatureStores.in_memory()
    pytest.importorskip("redis", reason="the redis extra is not installed (pip install fraudguard[redis])")
    from fraudguard.io.redis_state import RedisStateStore

    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return FeatureStores(
        RedisStateStore(url, prefix=prefix + "card:"), RedisStateStore(url, prefix=prefix + "merchant:")
    )


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_switch_keeps_state_for_the_same_features_and_clears_every_store_otherwise(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    root = _registry(tmp_path)
    stores = _stores(kind, request)
    frame = generate_frame(1200, fraud_rate=0.05, seed=31, customers=80, merchants=30)
    first, second = frame.iloc[:800], frame.iloc[800:]
    bystander = None
    if kind == "redis":  # a key of another pipeline in the same Redis: never touched
        from fraudguard.io.redis_state import RedisStateStore

        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        bystander = RedisStateStore(url, prefix=prefix + "other:")
        bystander.put_many({"k": b"kept"})

    processor = PipelineProcessor(ModelWatcher(root, check_every_s=0.0), stores=stores)
    processor.process(first, [0] * len(first))
    cards, merchants = len(stores.card), len(stores.merchant)
    assert cards == first["card_id"].nunique() and merchants == first["merchant_id"].nunique()
    kept = stores.card.get_many(sorted(set(first["card_id"])))

    write_current(root, SAME)
    assert processor.at_batch_boundary() and processor.version == SAME
    assert (len(stores.card), len(stores.merchant)) == (cards, merchants)
    assert stores.card.get_many(sorted(set(first["card_id"]))) == kept

    write_current(root, OTHER)
    assert processor.at_batch_boundary() and processor.version == OTHER
    assert processor.pipeline.config.max_card_entries == 7
    assert len(stores.card) == 0 and len(stores.merchant) == 0
    fresh = FeaturePipeline(processor.pipeline.config).transform(second, update=False)
    np.testing.assert_array_equal(processor.pipeline.transform(second, update=False).to_numpy(), fresh.to_numpy())
    processor.process(second, [0] * len(second))
    assert len(stores.card) == second["card_id"].nunique()
    if bystander is not None:
        assert bystander.get_many(["k"]) == [b"kept"]
