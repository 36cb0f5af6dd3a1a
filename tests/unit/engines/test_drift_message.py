"""The engine's drift message: counts encoded once, the same bytes on the wire, nothing left to collect."""

from __future__ import annotations

import gc

import msgspec
import numpy as np

from fraudguard.engines.local.shadow import drift_message
from fraudguard.metrics.drift import Reference, batch_counts


def _counts() -> dict[int, dict[str, list[int]]]:
    rng = np.random.default_rng(4)
    refs = [
        Reference("amount", "feature", np.array([10.0, 50.0, 200.0]), np.full(5, 0.2)),
        Reference("ensemble_score", "score", np.array([0.1, 0.5]), np.full(4, 0.25)),
    ]
    columns = {"amount": rng.gamma(2.0, 40.0, 3000), "ensemble_score": rng.random(3000)}
    columns["amount"][::97] = np.nan
    seconds = 1.78e9 + np.sort(rng.uniform(0, 5 * 3600, 3000))  # many event-time buckets
    return batch_counts(refs, columns, seconds)


def test_the_message_is_byte_for_byte_the_plain_encoding() -> None:
    counts = _counts()
    assert len(counts) > 10
    for cold_from in (None, 1.78e9):
        message = drift_message("v1", counts, cold_from)
        plain = {"model_version": "v1", "counts": {str(k): v for k, v in counts.items()}, "cold_from": cold_from}
        wire = msgspec.json.encode({**message, "batch": "p0:12"})
        assert wire == msgspec.json.encode({**plain, "batch": "p0:12"})
        assert msgspec.json.decode(wire)["counts"] == plain["counts"]


def test_the_buffered_message_holds_no_container_for_the_collector() -> None:
    message = drift_message("v1", _counts(), None)
    assert not any(gc.is_tracked(v) for v in message.values())
