"""Where a batch is cut into blocks: exact blocks, as few as needed, same features."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline
from fraudguard.features.segments import cut_points, earlier_max, order_cuts
from tests.unit.features.helpers import T0, frame, random_stream, tx

CFG = FeatureConfig(allowed_lateness_s=600, label_delay_s=3 * 3600, max_card_entries=6)


def _naive_block_max(codes: np.ndarray, times: np.ndarray) -> np.ndarray:
    lo = int(times.min()) - 1
    out, seen = np.full(len(codes), lo, np.int64), {}
    for i, (c, t) in enumerate(zip(codes.tolist(), times.tolist(), strict=True)):
        if c in seen:
            out[i] = seen[c]
        seen[c] = max(seen.get(c, lo), t)
    return out


def _needs_cut(codes: np.ndarray, times: np.ndarray, start: int, i: int) -> bool:
    """Row ``i`` cannot join ``[start, i)``: it goes back in time after a row of its key there."""
    same = np.flatnonzero(codes[start:i] == codes[i]) + start
    return bool(len(same) and times[same].max() > times[i])


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
    cuts = order_cuts(codes, times)
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
    assert order_cuts(codes, times) == [0, 1000, 2000, 3000]
    assert len(cut_points(codes, times, np.full(50, np.iinfo(np.int64).min))) > 10  # the card rule cuts far more


def test_ordered_and_tiny_batches_are_one_block() -> None:
    assert order_cuts(np.array([], np.int64), np.array([], np.int64)) == []
    assert order_cuts(np.array([4]), np.array([9])) == [0]
    assert order_cuts(np.array([1, 2, 1]), np.array([3, 1, 3])) == [0]  # back in time, other key


def test_a_row_far_behind_the_batch_before_it_does_not_end_its_block() -> None:
    """10 is far behind 40 (an earlier block: state by then); 12 after it is in time order.
    State's forgetting of 10's buckets is the block code's (``dropped_at_once``), not a cut."""
    codes, times = np.array([1, 2, 1, 1]), np.array([40, 50, 10, 12])
    assert order_cuts(codes, times) == [0, 2]
    assert order_cuts(codes, np.array([40, 50, 20, 18])) == [0, 2, 3]  # 18 goes back after 20


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


@pytest.mark.parametrize("per_run", [False, True], ids=["one-batch", "batch-per-run"])
@pytest.mark.parametrize("seed", [21, 22])
def test_merchant_features_of_partitions_a_month_apart_equal_one_by_one(seed, per_run) -> None:
    """Partitions whose clocks are 37 and 74 days apart, read in interleaved runs (in one
    batch, or a batch each): a run's rows are over a month behind the merchants' state from
    the run before, so their daily buckets and labels are forgotten as soon as they are
    added. (Cards are kept for 200 days: the stream-wide expiry clock would otherwise
    forget the cards behind it at batch ends rather than after each row, a difference of
    expiry, not of blocks.)"""
    cfg = replace(CFG, card_ttl_s=200 * 86400)
    stream = random_stream(400, seed=seed, late_share=0.0)
    part = stream["card_id"].map(lambda c: int(c[1:]) % 3)
    stream["event_time"] -= pd.to_timedelta(part * 37, unit="D")
    runs = [r for r in (stream[part == p].iloc[a : a + 50] for a in range(0, 400, 50) for p in range(3)) if len(r)]
    arrival = pd.concat(runs)
    batches = FeaturePipeline(cfg)
    whole = pd.concat([batches.transform(run) for run in runs]) if per_run else batches.transform(arrival)
    one = FeaturePipeline(cfg)
    single = pd.concat([one.transform(arrival.iloc[i : i + 1]) for i in range(len(arrival))])
    np.testing.assert_allclose(whole.to_numpy(), single.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)


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


@pytest.mark.parametrize("ahead", ["row", "label"])
def test_rows_over_a_month_behind_stored_state_do_not_see_each_others_forgotten_days(ahead) -> None:
    """A merchant's state reaches day 100 (a row there, or only a label from the labels
    topic); then new cards pay it on days 50 (a fraud, its label known 3 h later) and 51.
    One-by-one, state drops day 50's label (and, after a row, its daily bucket) as soon as
    they are added, 36 days behind its newest, so the day-51 row counts neither; in one
    block it must not count them either."""
    day = 86400.0
    late = frame(
        [
            tx(50 * day + 3600, card="b", merchant="m", is_fraud=1.0),
            tx(51 * day + 7200, card="c", merchant="m"),
        ]
    )
    block, single = FeaturePipeline(CFG), FeaturePipeline(CFG)
    for pipe in (block, single):
        if ahead == "row":
            pipe.transform(frame([tx(100 * day, card="a", merchant="m")]))
        else:
            when = T0 + pd.Timedelta(days=100)
            assert pipe.observe_labels(["m"], [when], [True], when) == 1
    got = block.transform(late)
    want = pd.concat([single.transform(late.iloc[i : i + 1]) for i in range(2)])
    assert want["merchant_count_7d"].tolist() == [0.0, 0.0 if ahead == "row" else 1.0]
    assert want["merchant_fraud_known_7d"].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    assert block.merchant_store.get_many(["m"]) == single.merchant_store.get_many(["m"])
