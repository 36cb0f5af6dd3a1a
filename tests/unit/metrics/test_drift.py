"""PSI against hand-computed values; drift alerts on a shifted stream and not on a steady one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraudguard.metrics.drift import DriftMonitor, Reference, batch_counts, bin_counts, psi
from fraudguard.models.drift_reference import quantile_edges, variable_reference


def test_psi_matches_hand_computation():
    # reference: four equal bins (and an empty NaN bin); observed 10/20/30/40 %
    expected = np.array([0.25, 0.25, 0.25, 0.25, 0.0])
    by_hand = (
        (0.1 - 0.25) * math.log(0.1 / 0.25)
        + (0.2 - 0.25) * math.log(0.2 / 0.25)
        + (0.3 - 0.25) * math.log(0.3 / 0.25)
        + (0.4 - 0.25) * math.log(0.4 / 0.25)
    )
    assert by_hand == pytest.approx(0.228218, abs=1e-6)
    assert psi(expected, np.array([10, 20, 30, 40, 0])) == pytest.approx(by_hand, abs=1e-12)
    assert psi(expected, np.array([5, 5, 5, 5, 0])) == 0.0
    assert psi(expected, np.zeros(5)) is None
    # an empty observed bin is floored at 1e-4, not infinite
    floored = (1e-4 - 0.25) * math.log(1e-4 / 0.25) + 3 * (1 / 3 - 0.25) * math.log((1 / 3) / 0.25)
    assert psi(expected, np.array([0, 10, 10, 10, 0])) == pytest.approx(floored, abs=1e-12)


def test_bins_edges_and_missing_values():
    edges = np.array([1.0, 2.0, 3.0])
    assert bin_counts(edges, np.array([0.5, 1.0, 2.5, 3.0, 9.0, np.nan])).tolist() == [1, 1, 1, 2, 1]
    assert quantile_edges(np.array([0, 0, 0, 1, 1.0])).tolist() == [0.5]  # binary: one bin per value
    ref = variable_reference(np.arange(100, dtype=float))
    assert len(ref["edges"]) == 9 and ref["shares"] == pytest.approx([0.1] * 10 + [0.0])
    assert variable_reference(np.array([np.inf, 1.0, 2.0, np.nan]))["edges"] == [1.5]


def _monitor(rng: np.random.Generator, windows=None) -> tuple[DriftMonitor, list[Reference]]:
    refs = [
        Reference.from_dict("amount", "feature", variable_reference(rng.normal(0, 1, 20_000))),
        Reference.from_dict("noise", "feature", variable_reference(rng.normal(0, 1, 20_000))),
        Reference.from_dict("ensemble_score", "score", variable_reference(rng.beta(1, 20, 20_000))),
    ]
    return DriftMonitor(refs, ["amount"], min_count=500, windows=windows), refs


def _stream(rng, refs, n, shift_amount=0.0, shift_noise=0.0, t0=960_000.0):
    cols = {
        "amount": rng.normal(shift_amount, 1, n),
        "noise": rng.normal(shift_noise, 1, n),
        "ensemble_score": rng.beta(1, 20, n),
    }
    return batch_counts(refs, cols, np.linspace(t0, t0 + 3599, n))  # one full hour of event time


def test_alert_on_shifted_top_feature_not_on_steady_stream_nor_untracked_feature():
    rng = np.random.default_rng(3)
    steady, refs = _monitor(rng)
    steady.add(_stream(rng, refs, 5000))
    out = steady.compute()
    assert not out["alert"] and out["windows"]["last_1h"]["transactions"] == 5000
    assert all(r["psi"] < 0.05 for r in out["windows"]["last_1h"]["psi"])

    untracked, _ = _monitor(rng)
    untracked.add(_stream(rng, refs, 5000, shift_noise=1.5))  # big drift, but not a top feature
    out = untracked.compute()
    assert not out["alert"] and out["windows"]["last_1h"]["psi"][0]["name"] == "noise"

    shifted, _ = _monitor(rng)
    shifted.add(_stream(rng, refs, 5000, shift_amount=1.0))
    out = shifted.compute()
    assert out["alert"] and "amount" in out["reasons"][0]


def test_windows_follow_event_time_and_batching_does_not_matter():
    rng = np.random.default_rng(4)
    windows = {"last_1h": 3600, "last_2h": 7200}
    a, refs = _monitor(rng, windows)
    b, _ = _monitor(rng, windows)
    old = _stream(rng, refs, 3000, shift_amount=2.0, t0=0.0)  # a drifted hour, then a steady one
    new = _stream(rng, refs, 3000, t0=3600.0)
    a.add({**old, **new})
    for part in (new, old):  # another order, one bucket at a time
        for k, v in part.items():
            b.add({k: v})
    ra, rb = a.compute(), b.compute()
    assert ra == rb
    assert ra["windows"]["last_1h"]["transactions"] == 3000 and ra["windows"]["last_2h"]["transactions"] == 6000
    assert ra["alert"] and all("last_2h" in r for r in ra["reasons"])


def test_a_window_not_yet_covered_by_the_stream_does_not_alert():
    rng = np.random.default_rng(5)
    monitor, refs = _monitor(rng)
    monitor.add(_stream(rng, refs, 5000, shift_amount=1.0))  # one hour: the day window is not full
    out = monitor.compute()
    assert out["windows"]["last_1d"]["full"] is False and out["windows"]["last_1h"]["full"] is True
    assert out["alert"] and all("last_1h" in r for r in out["reasons"])


def test_no_alert_while_warming_up_then_alerts_once_the_window_starts_after_the_warm_up():
    rng = np.random.default_rng(5)
    _plain, refs = _monitor(rng)
    monitor = DriftMonitor(refs, ["amount"], min_count=500, warmup_s=2 * 3600)
    warm = DriftMonitor(refs, ["amount"], min_count=500, warmup_s=2 * 3600)  # an engine on warm state (Redis)
    for hour in range(3):  # hours 0, 1, 2 of a shifted stream, from its first event
        batch = _stream(rng, refs, 2000, shift_amount=1.0, t0=960_000.0 + hour * 3600)
        monitor.add(batch)
        monitor.cold_start(960_000.0)  # every message of the cold engine says when it started
        warm.add(batch)
        assert warm.compute()["alert"]  # no cold start reported: only the window's own length
        out = monitor.compute()
        assert out["warm_from"] == 960_000 + 2 * 3600
        if hour < 2:  # the last hour starts before first bucket + 2 h: emptier windows, not drift
            assert out["warming_up"] and not out["alert"] and not out["windows"]["last_1h"]["full"]
            assert out["windows"]["last_1h"]["psi"][0]["psi"] > 0.2  # PSI is still reported
    assert not out["warming_up"] and out["alert"] and "amount" in out["reasons"][0]
    capped = DriftMonitor(refs, ["amount"], warmup_s=35 * 86400)  # a card trained on months of history
    assert capped.warmup_s == 86400  # at most the longest window: never blind for weeks after a cold start


def test_edges_lie_between_values_so_a_one_ulp_difference_never_changes_a_bin():
    # Random Forest scores: few distinct values (tree votes), many rows on each
    rng = np.random.default_rng(8)
    scores = rng.integers(0, 11, 50_000) / 10.0
    scores = np.concatenate([scores, rng.uniform(0, 1, 40)])  # more distinct values than bins
    edges = quantile_edges(scores)
    assert not np.isin(edges, scores).any()
    nudged = np.nextafter(scores, np.inf)  # the compiled graph's summation order, 1 ulp off
    assert (bin_counts(edges, scores) == bin_counts(edges, nudged)).all()
    assert (
        psi(
            variable_reference(scores)["shares"],
            bin_counts(np.asarray(variable_reference(scores)["edges"]), np.nextafter(scores, -np.inf)),
        )
        < 1e-9
    )
