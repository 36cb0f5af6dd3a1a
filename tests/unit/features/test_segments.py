"""Where a batch is cut into blocks: exact blocks, as few as needed, same features."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline
from fraudguard.features.segments import cut_points, earlier_max, order_cuts
from tests.unit.features.helpers import frame, random_stream, tx

CFG = FeatureConfig(allowed_lateness_s=600, label_delay_s=3 * 3600, max_card_entries=6)


def _naive_block_max(codes: np.ndarray, times: np.ndarray) -> np.ndarray:
    lo = int(times.min()) - 1
    out, seen = np.full(len(codes), lo, np.int64), {}
    for i, (c, t) in enumerate(zip(codes.tolist(), times.tolist(), strict=True)):
        if c in seen:
            out[i] = seen[c]
        seen[c] = max(seen.get(c, lo), t)
    return out


HORIZON = 25


def _needs_cut(codes: np.ndarray, times: np.ndarray, start: int, i: int) -> bool:
    """Row ``i`` cannot join ``[start, i)``: it goes back in time after a row of its key
    there, or a row of its key there was ``HORIZON`` or more behind the batch before it."""
    same = np.flatnonzero(codes[start:i] == codes[i]) + start
    if len(same) == 0:
        return False
    far = [
        k
        for k in same.tolist()
        if k and (codes[:k] == codes[k]).any() and times[k] <= times[:k][codes[:k] == codes[k]].max() - HORIZON
    ]
    return bool(times[same].max() > times[i] or far)


@pytest.mark.parametrize("scale", [1, 10**9, 10**13], ids=["hours", "wide", "too-wide-to-offset"])
def test_running_max_of_earlier_rows_per_key_matches_a_loop(scale) -> None:
    rng = np.random.default_rng(scale % 97)
    codes = rng.integers(0, 400, 3000)
    times = rng.integers(0, 50, 3000).astype(np.int64) * scale
    np.testing.assert_array_equal(earlier_max(codes, times), _naive_block_max(codes, times))


@pytest.mark.parametrize("seed", range(8))
def test_blocks_have_no_inversion_and_every_cut_is_needed(seed) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    codes = rng.integers(0, 25, n)
    times = np.sort(rng.integers(0, 60, n)) - (rng.random(n) < 0.1) * rng.integers(0, 40, n)
    cuts = order_cuts(codes, times, HORIZON)
    assert cuts[0] == 0 and cuts == sorted(set(cuts))
    for a, b in zip(cuts, [*cuts[1:], n], strict=True):
        assert not any(_needs_cut(codes, times, a, i) for i in range(a, b))
    for prev, cut in itertools.pairwise(cuts):
        assert _needs_cut(codes, times, prev, cut)  # the block could not have gone on


def test_partitions_read_one_after_the_other_are_cut_where_each_starts_over() -> None:
    rng = np.random.default_rng(3)
    parts = [np.sort(rng.integers(0, 5, 1000)) for _ in range(4)]  # four time-ordered runs, 5 hours
    times = np.concatenate(parts)
    codes = rng.integers(0, 50, len(times))
    assert order_cuts(codes, times, HORIZON) == [0, 1000, 2000, 3000]
    assert len(cut_points(codes, times, np.full(50, np.iinfo(np.int64).min))) > 10  # the card rule cuts far more


def test_ordered_and_tiny_batches_are_one_block() -> None:
    assert order_cuts(np.array([], np.int64), np.array([], np.int64), HORIZON) == []
    assert order_cuts(np.array([4]), np.array([9]), HORIZON) == [0]
    assert order_cuts(np.array([1, 2, 1]), np.array([3, 1, 3]), HORIZON) == [0]  # back in time, other key


def test_a_row_state_forgets_at_once_ends_the_block_for_its_key() -> None:
    codes, times = np.array([1, 2, 1, 1]), np.array([40, 50, 10, 12])
    assert order_cuts(codes, times, HORIZON) == [0, 2, 3]  # 10 is 30 behind 40: 12 must not see it
    assert order_cuts(codes, np.array([40, 50, 20, 22]), HORIZON) == [0, 2]  # 20 is kept: 22 sees it


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_merchant_features_of_interleaved_partition_runs_equal_one_by_one(seed) -> None:
    """The engine's read of a backlog: each partition's rows in a run, runs one after the
    other, some a day or more behind the run before (so state has forgotten their hours)."""
    stream = random_stream(600, seed=seed, late_share=0.0)
    part = stream["card_id"].map(lambda c: int(c[1:]) % 3)
    runs = [stream[part == p].iloc[a : a + 70] for a in range(0, 600, 70) for p in range(3)]
    arrival = pd.concat([r for r in runs if len(r)])
    whole = FeaturePipeline(CFG).transform(arrival)
    one = FeaturePipeline(CFG)
    single = pd.concat([one.transform(arrival.iloc[i : i + 1]) for i in range(len(arrival))])
    merchant = [c for c in whole.columns if c.startswith("merchant_")]
    assert merchant
    np.testing.assert_allclose(
        whole[merchant].to_numpy(), single[merchant].to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True
    )


def test_rows_a_day_behind_stored_state_do_not_see_each_others_forgotten_hours() -> None:
    """A merchant's state reaches hour 100; then two new cards pay it at hours 50 and 51.
    One-by-one, state drops hour 50's bucket as soon as it is added, so the hour-51 row
    counts nothing in its last hour; in one block it must not count it either."""
    first = frame([tx(100 * 3600.0, card="a", merchant="m")])
    late = frame([tx(50 * 3600.0, card="b", merchant="m"), tx(51 * 3600.0 + 60, card="c", merchant="m")])
    block, single = FeaturePipeline(CFG), FeaturePipeline(CFG)
    block.transform(first)
    single.transform(first)
    got = block.transform(late)
    want = pd.concat([single.transform(late.iloc[i : i + 1]) for i in range(2)])
    assert want["merchant_count_1h"].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
