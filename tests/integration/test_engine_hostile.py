"""Hostile input: every bad message reaches the DLQ with its reason and original bytes; the stream goes on."""

from __future__ import annotations

import orjson
import pytest

from fraudguard.generator import generate_frame
from fraudguard.io.kafka import headers_dict
from fraudguard.io.sinks.dlq import HEADER_FIELD, HEADER_OFFSET, HEADER_PARTITION, HEADER_REASON, HEADER_TOPIC
from tests.fixtures.engine import EngineEnv, encode_frame, pg_count, publish_values, read_topic
from tests.integration.test_engine_pipeline import run_engine

pytestmark = pytest.mark.integration


def _hostile(valid: dict) -> list[tuple[str, bytes]]:
    """(expected field, payload) for each bad message, built from one valid record."""

    def variant(**changes: object) -> bytes:
        rec = {**valid, **changes}
        return orjson.dumps({k: v for k, v in rec.items() if v is not ...})

    return [
        ("$", b"{not json"),
        ("$", b""),
        ("card_id", variant(card_id=...)),
        ("transaction_id", variant(transaction_id=...)),
        ("amount", variant(amount="12.50")),
        ("amount", variant(amount=-5.0)),
        ("amount", variant(amount="NaN")),
        ("amount", variant(amount=1e12)),
        ("event_time", variant(event_time="1970-01-01T00:00:00Z")),
        ("event_time", variant(event_time="2999-01-01T00:00:00Z")),
        ("event_time", variant(event_time="yesterday")),
        ("card_present", variant(card_present="maybe")),
        ("$", b'{"transaction_id": "' + b"x" * (1024 * 1024) + b'"}'),
        ("$", b"\xff\xfe\x00garbage \xc3\x28"),
        ("$", b"[1, 2, 3]"),
    ]


def test_hostile_messages_go_to_the_dlq_and_valid_ones_after_them_are_scored(engine_env: EngineEnv):
    s = engine_env.settings
    frame = generate_frame(600, seed=5)
    values, keys = encode_frame(frame)
    base = orjson.loads(values[0])
    hostile = _hostile(base)
    unknown_category = orjson.dumps({**base, "transaction_id": "odd-category", "merchant_category": "space_tourism"})
    dup_a, dup_b = values[10], values[20]  # published twice: same batch and a later batch

    # one partition key for the hostile ones so their order around valid messages is known
    stream = [*values[:300], *(p for _, p in hostile), unknown_category, dup_a, *values[300:], dup_b, dup_a]
    stream_keys = [*keys[:300], *([b"hostile"] * len(hostile)), b"odd", keys[10], *keys[300:], keys[20], keys[10]]
    publish_values(engine_env.bootstrap, s.topic_transactions, stream, stream_keys)

    stats = run_engine(engine_env, len(stream), batch_size=250, max_wait_ms=200)

    assert stats.consumed == len(stream)
    assert stats.duplicates == 3
    dlq = read_topic(engine_env.bootstrap, s.topic_dlq)
    assert len(dlq) == len(hostile) + 3 == stats.dead_letters
    by_value = {m.value() or b"": headers_dict(m.headers()) for m in dlq}
    for field, payload in hostile:
        assert payload in by_value, f"missing from the DLQ: {payload[:60]!r}"
        headers = by_value[payload]
        assert headers[HEADER_REASON], payload[:60]
        assert headers[HEADER_TOPIC] == s.topic_transactions.encode()
        assert int(headers[HEADER_PARTITION]) >= 0 and int(headers[HEADER_OFFSET]) >= 0
        if field != "$":
            assert headers[HEADER_FIELD] == field.encode(), (payload[:80], headers)
    dup_reasons = [h for h in by_value.values() if h[HEADER_REASON].startswith(b"duplicate transaction_id")]
    assert len({m.value() for m in dlq if headers_dict(m.headers())[HEADER_REASON].startswith(b"duplicate")}) == 2
    assert dup_reasons

    url = engine_env.database_url
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions") == 600 + 1
    assert pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE transaction_id = 'odd-category'") == 1
    # every valid message published after the hostile ones was scored
    last = frame["transaction_id"].iloc[-1]
    assert pg_count(url, f"SELECT count(*) FROM fraud_predictions WHERE transaction_id = '{last}'") == 1
