"""Fuzzing inputs for the decoders: the bytes a hostile or broken producer could send.

Shared by the bounded hypothesis tests (``tests/unit/hardening``) and the million-input
run of ``fraudguard bench-fuzz``, so both explore the same space: random bytes, valid
transactions with bytes overwritten or inserted, invalid UTF-8 inside strings, deep nesting,
huge numbers and unknown nested fields.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

VALID = (
    b'{"transaction_id":"t-1","card_id":"c-1","event_time":"2026-01-01T12:00:00Z","amount":12.5,'
    b'"merchant_id":"m-1","merchant_category":"grocery","channel":"pos","extras":{"V1":0.5}}'
)
TOKENS = (b"{", b"}", b"[", b"]", b'"', b"\\", b":", b",", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
          b"1e999", b"-0", b"NaN", b"Infinity", b"null", b"true", b'"\\ud800"', b"\\u0000")  # fmt: skip


def mutate(rng: random.Random, base: bytes = VALID) -> bytes:
    """One mutated message: a few tokens or random bytes inserted, replaced or deleted."""
    data = bytearray(base)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data) + 1)
        if op == 0:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 1 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 2:
            del data[pos : pos + rng.randint(1, 8)]
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(data)


def deep(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    """A transaction whose unknown field ``x`` nests ``depth`` levels."""
    return VALID[:-1] + b',"x":' + opener * depth + closer * depth + b"}"


def inputs(seed: int) -> Iterator[bytes]:
    """An endless mixed stream of hostile messages (deterministic for a seed)."""
    rng = random.Random(seed)
    while True:
        kind = rng.randrange(5)
        if kind == 0:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        elif kind == 1:
            yield deep(rng.choice((17, 100, 1_000, 5_000)), *rng.choice(((b"[", b"]"), (b'{"a":', b"}"))))
        elif kind == 2:
            yield VALID.replace(b't-1"', b"t-\xff" + bytes([rng.randrange(128, 256)]) + b'"')
        else:
            yield mutate(rng)


__all__ = ["TOKENS", "VALID", "deep", "inputs", "mutate"]


def run_fuzz(count: int, seed: int = 0, chunk: int = 10_000) -> dict[str, int]:
    """Feed ``count`` hostile inputs to the stream and API decoders; count outcomes.

    A decoder that raises anything but a rejection makes this raise (the run failed);
    otherwise every input is either accepted or rejected, and the totals must add up.
    """
    from fastapi import HTTPException

    from fraudguard.api.codec import decode_body
    from fraudguard.errors import ValidationError
    from fraudguard.schema import decode_batch

    gen = inputs(seed)
    totals = {"inputs": 0, "accepted": 0, "rejected": 0, "api_accepted": 0, "api_rejected": 0}
    while totals["inputs"] < count:
        batch = [next(gen) for _ in range(min(chunk, count - totals["inputs"]))]
        good, bad = decode_batch(batch)
        if len(good) + len(bad) != len(batch):
            raise AssertionError("decode_batch lost messages")
        for body in batch:
            try:
                decode_body(body)
                totals["api_accepted"] += 1
            except (ValidationError, HTTPException):
                totals["api_rejected"] += 1
        totals["inputs"] += len(batch)
        totals["accepted"] += len(good)
        totals["rejected"] += len(bad)
    return totals
