"""The local engine's crash rule, without a broker: offsets are committed only after every sink flushed.

A fake consumer stands in for confluent-kafka's (``fake_consumer.py``; the integration tests
run the engine on the real broker, here the order of calls is what is checked, which a real
broker cannot show): every commit lands in the event log the sinks write to.
"""

from __future__ import annotations

import threading

import pytest

from tests.unit.engines.fake_consumer import SINKS, TOPIC, Event, RecordingSink, commits, last_offset, make_engine


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "sequential"])
def test_offsets_are_committed_only_after_every_sink_flushed_the_batch(pipeline: bool):
    engine, consumer, events = make_engine(10, pipeline=pipeline)
    stats = engine.run(max_messages=10)
    assert commits(events) == [4, 8, 10]
    assert stats.commits == 3 and stats.consumed == stats.scored == 10
    segment: list[Event] = []
    for event in events:
        if event[0] != "commit":
            segment.append(event)
            continue
        committed = event[1][(TOPIC, 0)]
        # between two commits: exactly one batch, written then flushed by every sink, ending
        # at the committed offset; the next batch reaches no sink before this commit
        batch_ids = {e[2] for e in segment}
        assert len(batch_ids) == 1, segment
        (batch_id,) = batch_ids
        assert last_offset(batch_id) + 1 == committed
        assert {e[1] for e in segment if e[0] == "flush"} == set(SINKS)
        for name in SINKS:
            assert segment.index(("write", name, batch_id)) < segment.index(("flush", name, batch_id))
        segment = []
    assert segment == []
    assert consumer.closed


def test_a_sink_that_fails_then_recovers_gets_the_batch_again_before_the_one_commit():
    events: list[Event] = []
    sinks = [RecordingSink("postgres", events, failures=2), RecordingSink("parquet", events)]
    engine, _consumer, events = make_engine(4, pipeline=True, sinks=sinks)
    stats = engine.run(max_messages=4)
    assert commits(events) == [4]
    commit_at = events.index(("commit", {(TOPIC, 0): 4}))
    assert ("flush", "postgres", "tx-p0o0-3") in events[:commit_at]
    assert events.index(("pause",)) < events.index(("flush", "postgres", "tx-p0o0-3"))
    assert ("resume",) in events[:commit_at]  # partitions paused while retrying, resumed after
    assert stats.retries == 2 and stats.commits == 1


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "sequential"])
def test_a_sink_failing_until_the_engine_is_stopped_commits_nothing(pipeline: bool):
    events: list[Event] = []
    failing = RecordingSink("postgres", events, failures=1_000)
    engine, consumer, events = make_engine(8, pipeline=pipeline, sinks=[failing, RecordingSink("parquet", events)])
    attempts = {"n": 0}

    def stop_on_third_failure() -> None:
        attempts["n"] += 1
        if attempts["n"] == 3:
            engine.stop_event.set()

    failing.on_failure = stop_on_third_failure
    stats = engine.run(max_messages=8)
    assert attempts["n"] == 3
    assert commits(events) == []
    assert stats.commits == 0 and stats.consumed == 0
    assert consumer.closed


def test_a_sink_failing_with_a_bug_commits_nothing_and_the_error_surfaces():
    events: list[Event] = []
    broken = RecordingSink("postgres", events, failures=1, fail_with=RuntimeError)
    engine, consumer, events = make_engine(4, pipeline=True, sinks=[broken, RecordingSink("parquet", events)])
    with pytest.raises(RuntimeError, match="postgres is down"):
        engine.run(max_messages=4)
    assert commits(events) == []
    assert consumer.closed


def test_a_revocation_commits_the_batch_in_flight_before_the_partition_moves():
    engine, consumer, events = make_engine(4, pipeline=True)
    engine.subscribe()
    first = engine.step()  # batch 0-3 scored and handed to the background writer
    assert first is not None and commits(events) == []
    consumer.before_consume = consumer.revoke  # the next poll delivers a rebalance
    engine.step()
    revoked_at = events.index(("revoked", [0]))
    commit_at = events.index(("commit", {(TOPIC, 0): 4}))
    assert commit_at < revoked_at
    assert {e[1] for e in events[:commit_at] if e[0] == "flush"} == set(SINKS)
    assert engine.stats.commits == 1
    engine.close()
    assert commits(events) == [4]  # settled once: close has nothing left to commit


def test_a_revocation_during_a_failed_write_commits_nothing_and_the_loop_retries_it():
    events: list[Event] = []
    sinks = [RecordingSink("postgres", events, failures=1), RecordingSink("parquet", events)]
    engine, consumer, events = make_engine(4, pipeline=True, sinks=sinks)
    engine.subscribe()
    engine.step()
    consumer.before_consume = consumer.revoke
    engine.step()  # the revocation finds the write failed: nothing committed then; the loop retries
    revoked_at = events.index(("revoked", [0]))
    assert "commit" not in [e[0] for e in events[:revoked_at]]
    assert commits(events) == [4]
    assert events.index(("flush", "postgres", "tx-p0o0-3")) < events.index(("commit", {(TOPIC, 0): 4}))
    engine.close()


def test_stopping_during_the_background_write_still_settles_before_closing():
    gate = threading.Event()
    events: list[Event] = []

    class SlowSink(RecordingSink):
        def flush(self) -> None:
            gate.wait(5)
            super().flush()

    engine, _consumer, events = make_engine(4, pipeline=True, sinks=[SlowSink("postgres", events)])
    engine.subscribe()
    engine.step()
    assert commits(events) == []  # the write waits on the gate
    gate.set()
    engine.close()  # waits for the write in flight, then commits it
    assert commits(events) == [4]
    assert events.index(("flush", "postgres", "tx-p0o0-3")) < events.index(("commit", {(TOPIC, 0): 4}))
