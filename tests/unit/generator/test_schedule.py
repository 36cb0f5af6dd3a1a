"""Replay schedules: fixed rate, dataset pace, bursts and late events."""

from __future__ import annotations

import numpy as np
import pytest

from fraudguard.errors import ConfigError
from fraudguard.generator.schedule import make_schedule

US = 1_000_000
TIMES = np.arange(0, 1_000 * US, US // 2, dtype=np.int64)  # 2,000 events, 0.5 s apart


def test_fixed_rate_spaces_messages_evenly():
    s = make_schedule(TIMES, tps=100)
    assert (s.order == np.arange(len(TIMES))).all()
    assert s.offsets[100] == pytest.approx(1.0)


def test_speed_scales_the_dataset_pace():
    s = make_schedule(TIMES, speed=10)
    assert s.offsets[-1] == pytest.approx((TIMES[-1] - TIMES[0]) / US / 10)


def test_burst_keeps_the_average_rate_but_sends_in_steps():
    s = make_schedule(TIMES, tps=100, mode="burst", burst_period=2.0)
    assert set(np.unique(s.offsets)) == {2.0 * k for k in range(10)}
    assert np.count_nonzero(s.offsets == 0.0) == 200


def test_late_mode_holds_a_share_back_by_the_delay():
    s = make_schedule(TIMES, tps=1_000, mode="late", late_share=0.1, late_delay=60, seed=1)
    assert 0.07 < s.late.mean() < 0.13
    sent = TIMES[s.order]
    out_of_order = np.count_nonzero(np.diff(sent) < 0)
    assert out_of_order > 0
    pos = np.empty(len(TIMES), dtype=np.int64)
    pos[s.order] = np.arange(len(TIMES))
    late = np.flatnonzero(s.late)
    # a late event is sent after every event up to 60 s newer than itself
    for i in late[:50]:
        newer = np.flatnonzero((TIMES[i] < TIMES) & (TIMES[i] + 60 * US > TIMES) & ~s.late)
        assert (pos[newer] < pos[i]).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tps": 1, "speed": 1}, "exactly one"),
        ({}, "exactly one"),
        ({"tps": 1, "mode": "wild"}, "unknown --mode"),
        ({"tps": -1}, "positive"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_schedule(TIMES, **kwargs)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"tps": float("nan")}, "--tps and --speed"),
        ({"speed": float("inf")}, "--tps and --speed"),
        ({"tps": 10, "mode": "late", "late_delay": float("nan")}, "--late-delay"),
        ({"tps": 10, "mode": "burst", "burst_period": 0.0}, "--burst-period"),
    ],
)
def test_non_finite_or_zero_options_are_refused(options, match):
    with pytest.raises(ConfigError, match=match):
        make_schedule(TIMES, **options)
