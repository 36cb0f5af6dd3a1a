"""The status line never shows "lag 0" while the broker is unreachable (issue 11, failure 2)."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError

from fraudguard.engines.local.recovery import BrokerWatch
from fraudguard.engines.local.status import EngineStats, StatusReporter


def test_outage_is_counted_once_and_shown_instead_of_the_lag() -> None:
    stats = EngineStats(lag=0)
    watch = BrokerWatch(stats, "tx")
    reporter = StatusReporter(stats)
    assert "lag 0" in reporter.line()
    watch.on_error(KafkaError(KafkaError._TRANSPORT))  # one closed connection is no outage
    assert not watch.down
    for _ in range(3):
        watch.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    assert watch.down and stats.broker_outages == 1
    stats.broker_down_since = time.monotonic() - 12
    line = reporter.line()
    assert "broker unreachable for 12s" in line and "lag" not in line
    assert stats.as_dict()["broker_down"] is True


def test_a_forgotten_member_marks_the_assignment_suspect() -> None:
    watch = BrokerWatch(EngineStats(), "tx")
    watch.on_error(KafkaError(KafkaError.UNKNOWN_MEMBER_ID))
    assert watch.suspect and not watch.down
