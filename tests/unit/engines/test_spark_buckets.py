"""Bucketed state (many keys per Spark group) gives the local pipeline's numbers."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from fraudguard.errors import ValidationError
from fraudguard.features import (
    INSERTED_COLUMN,
    FeatureConfig,
    FeaturePipeline,
    card_names,
    group_features,
    merchant_names,
)
from fraudguard.generator import generate_frame


def _bucket(keys: pd.Series, n: int) -> np.ndarray:
    return np.array([zlib.crc32(str(k).encode()) % n for k in keys])


@pytest.mark.parametrize("buckets", [1, 3])
def test_bucketed_card_and_merchant_features_equal_the_pipeline(buckets: int) -> None:
    cfg = FeatureConfig()
    frame = generate_frame(3000, fraud_rate=0.05, seed=7, customers=150, merchants=40)
    pipe = FeaturePipeline(cfg)
    card_maps: list[dict[str, bytes]] = [{} for _ in range(buckets)]
    merchant_maps: list[dict[str, bytes]] = [{} for _ in range(buckets)]
    cards, merchants = card_names(cfg), merchant_names(cfg)
    for start in range(0, len(frame), 700):
        batch = frame.iloc[start : start + 700]
        expected = pipe.transform(batch)
        got = pd.DataFrame(np.nan, index=batch.index, columns=[*cards, INSERTED_COLUMN, *merchants])
        for b, rows in batch.groupby(_bucket(batch["card_id"], buckets), sort=False):
            feats, touched = group_features("card", cfg, card_maps[b], rows)
            assert set(touched) <= set(rows["card_id"])
            card_maps[b].update(touched)
            got.loc[rows.index, feats.columns] = feats
        for b, rows in batch.groupby(_bucket(batch["merchant_id"], buckets), sort=False):
            inserted = got.loc[rows.index, INSERTED_COLUMN].to_numpy() > 0.5
            feats, touched = group_features("merchant", cfg, merchant_maps[b], rows, inserted)
            merchant_maps[b].update(touched)
            got.loc[rows.index, feats.columns] = feats
        for name in [*cards, *merchants]:
            np.testing.assert_allclose(got[name].to_numpy(), expected[name].to_numpy(), rtol=1e-6, err_msg=name)
    assert sum(map(len, card_maps)) == len(pipe.card_store)
    assert sum(map(len, merchant_maps)) == len(pipe.merchant_store)


def test_bucket_inputs_are_not_modified_and_bad_masks_are_named() -> None:
    cfg = FeatureConfig()
    frame = generate_frame(200, seed=3, customers=20, merchants=12)
    states: dict[str, bytes] = {}
    _, touched = group_features("card", cfg, states, frame)
    assert states == {} and len(touched) == frame["card_id"].nunique()
    with pytest.raises(ValidationError, match="inserted"):
        group_features("merchant", cfg, {}, frame, np.ones(3, bool))
