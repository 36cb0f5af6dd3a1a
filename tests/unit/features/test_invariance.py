"""Same stream, any batch size (including 1), same features and same card state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore
from tests.unit.features.helpers import random_stream

CFG = FeatureConfig(allowed_lateness_s=600, label_delay_s=3 * 3600, max_card_entries=6)


@pytest.fixture(scope="module")
def stream() -> pd.DataFrame:
    return random_stream(500, seed=7)


@pytest.fixture(scope="module")
def reference(stream: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, bytes], dict[str, float]]:
    store = InMemoryStateStore()
    pipe = FeaturePipeline(CFG, card_store=store)
    return pipe.transform(stream), store.snapshot(), pipe.stats()


def _run(stream: pd.DataFrame, sizes: list[int]) -> tuple[pd.DataFrame, dict[str, bytes], dict[str, float]]:
    store = InMemoryStateStore()
    pipe = FeaturePipeline(CFG, card_store=store)
    parts, i = [], 0
    while i < len(stream):
        n = sizes[len(parts) % len(sizes)]
        parts.append(pipe.transform(stream.iloc[i : i + n]))
        i += n
    return pd.concat(parts), store.snapshot(), pipe.stats()


@pytest.mark.parametrize("sizes", [[1], [2], [7], [64], [499], [1, 50, 3, 200]], ids=str)
def test_batch_size_does_not_change_features_or_state(stream, reference, sizes) -> None:
    ref, ref_state, ref_stats = reference
    got, state, stats = _run(stream, sizes)
    assert ref_stats["late_events"] > 0 and ref_stats["late_dropped"] > 0  # the stream exercises both rules
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    assert state == ref_state
    for key in ("late_events", "late_dropped", "rows"):
        assert stats[key] == ref_stats[key]


def test_fit_transform_history_matches_replay_in_time_order(stream) -> None:
    shuffled = stream.sample(frac=1.0, random_state=3)
    got = FeaturePipeline(CFG).fit_transform_history(shuffled, chunk_rows=97)
    order = np.argsort(shuffled["event_time"].to_numpy(), kind="stable")
    replay = FeaturePipeline(CFG).transform(shuffled.iloc[order])
    assert got.index.equals(shuffled.index)
    np.testing.assert_allclose(got.iloc[order].to_numpy(), replay.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
