"""The publisher's wait rule: librdkafka's ``poll`` counts whole milliseconds, so short
waits are slept (a ``poll`` under 1 ms returns at once and the loop would spin)."""

from __future__ import annotations

import pytest

from fraudguard.io.publish import MAX_SLEEP_S, POLL_GRAIN_S, nap


class Polls:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, timeout: float) -> int:
        self.calls.append(timeout)
        return 0


@pytest.mark.parametrize("wait", [0.0002, 0.0009, POLL_GRAIN_S / 2])
def test_a_wait_poll_would_round_to_zero_is_slept(wait: float) -> None:
    polls = Polls()
    nap(polls, wait)
    assert polls.calls == []


@pytest.mark.parametrize(("wait", "polled"), [(POLL_GRAIN_S, POLL_GRAIN_S), (0.01, 0.01), (5.0, MAX_SLEEP_S)])
def test_a_longer_wait_polls_for_callbacks_at_most_the_longest_nap(wait: float, polled: float) -> None:
    polls = Polls()
    nap(polls, wait)
    assert polls.calls == [polled]
    assert int(polled * 1000) >= 1  # what librdkafka waits: at least a millisecond


def test_a_past_due_message_is_not_waited_for() -> None:
    polls = Polls()
    nap(polls, -0.5)
    assert polls.calls == []
