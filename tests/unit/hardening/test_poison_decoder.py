"""No bytes can make the stream's or the API's decoder raise (issue 11, failure 1).

Before the fix, invalid UTF-8 inside a JSON string raised ``UnicodeDecodeError`` and an
unknown field nested ~1,000 levels raised ``RecursionError`` out of ``decode_batch``: the
engine died on every restart. Hypothesis explores a bounded sample here; ``fraudguard
bench-fuzz`` runs a million inputs from the same generators.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import HTTPException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudguard.admission import check_event_skew
from fraudguard.api.codec import decode_body
from fraudguard.bench.fuzz import TOKENS, VALID, deep, mutate, run_fuzz
from fraudguard.errors import ValidationError
from fraudguard.json_guard import json_depth
from fraudguard.schema import decode_batch, decode_transaction

POISON = [
    b'{"transaction_id":"\xff"}',
    VALID.replace(b'"t-1"', b'"t-\xff\xfe"'),
    VALID.replace(b'"V1"', b'"V\xc3"'),
    deep(1_000),
    deep(1_000, b'{"a":', b"}"),
    deep(100_000)[:60_000],
]


def _api_outcome(body: bytes) -> str:
    try:
        decode_body(body)
    except ValidationError:
        return "rejected"
    except HTTPException as e:
        assert 400 <= e.status_code < 500
        return "rejected"
    return "accepted"


@pytest.mark.parametrize("payload", POISON, ids=range(len(POISON)))
def test_known_poison_is_rejected_with_a_reason(payload: bytes) -> None:
    good, bad = decode_batch([VALID, payload, VALID.replace(b"t-1", b"t-2")])
    assert [t.transaction_id for t in good] == ["t-1", "t-2"]
    assert [i for i, _ in bad] == [1]
    assert bad[0][1].reason
    assert _api_outcome(payload) == "rejected"


def test_depth_is_checked_before_parsing() -> None:
    assert json_depth(VALID) == 2
    assert json_depth(b'{"a":"[[[[{{{{"}') == 1  # brackets in strings do not count
    assert json_depth(b'{"a":"\\"[[[["}') == 1  # nor after an escaped quote
    _, bad = decode_batch([deep(17)])
    assert "nested" in bad[0][1].reason
    good, _ = decode_batch([deep(10)])  # unknown nested fields within the limit are ignored
    assert len(good) == 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(payload: bytes) -> None:
    good, bad = decode_batch([payload])
    assert len(good) + len(bad) == 1
    _api_outcome(payload)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.sampled_from(TOKENS)), min_size=1, max_size=6))
def test_valid_message_with_hostile_tokens_never_raises(edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(VALID)
    for pos, token in edits:
        data[pos:pos] = token
    good, bad = decode_batch([bytes(data)])
    assert len(good) + len(bad) == 1
    _api_outcome(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32))
def test_mutations_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    batch = [mutate(rng) for _ in range(20)]
    good, bad = decode_batch(batch)
    assert len(good) + len(bad) == len(batch)


def test_fuzz_runner_counts_every_input() -> None:
    totals = run_fuzz(3_000, seed=1, chunk=1_000)
    assert totals["inputs"] == 3_000
    assert totals["accepted"] + totals["rejected"] == 3_000
    assert totals["rejected"] > 0 and totals["accepted"] > 0


def _one_by_one(payload: object, now: datetime, skew: float) -> tuple[object, ...]:
    """The outcome of the one-message path: decode, validate, then the skew check."""
    try:
        tx = decode_transaction(payload)  # type: ignore[arg-type]
        check_event_skew(tx, now, skew)
    except ValidationError as e:
        return ("rejected", e.field, e.reason)
    except Exception as e:
        return ("rejected", "$", f"undecodable message ({type(e).__name__})")
    return ("accepted", tx)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32))
def test_the_batch_decoder_decides_every_message_as_the_one_message_path(seed: int) -> None:
    """Its fast path (bytes the guards pass on counts alone, decoded at once) must give each
    message the one-message path's outcome: the same record or the same rejection, whatever
    the payload's type, and the skew limit exact to the microsecond."""
    rng = random.Random(seed)
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    limit = now + timedelta(seconds=600)
    at_edge = [
        VALID.replace(b"2026-01-01T12:00:00Z", (limit + timedelta(microseconds=d)).isoformat().encode())
        for d in (-1_000_001, -1, 0, 1, 999_999)
    ]
    payloads: list[object] = [mutate(rng) for _ in range(30)] + POISON + at_edge
    payloads += [bytearray(VALID), memoryview(VALID), VALID.decode(), VALID + b" " * 70_000]
    rng.shuffle(payloads)
    good, bad = decode_batch(payloads, max_skew_s=600, now=now)  # type: ignore[arg-type]
    got: dict[int, tuple[object, ...]] = {i: ("rejected", r.field, r.reason) for i, r in bad}
    accepted = iter(good)
    for i in range(len(payloads)):
        if i not in got:
            got[i] = ("accepted", next(accepted))
    assert [got[i] for i in range(len(payloads))] == [_one_by_one(p, now, 600) for p in payloads]
    assert sum(o[0] == "accepted" for o in got.values()) >= 3  # the edge cases on the right side
