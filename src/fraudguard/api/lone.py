"""A lone ``POST /v1/score`` transaction: no frames, and no thread hop when nothing waits on I/O.

Why: at concurrency 1 the work per request is one transaction (~0.1 ms through
``models/single.py``), while the frame path cost ~1 ms in pandas set-up and the hand-off to
the batcher's worker thread and back two thread wake-ups. A lone transaction with nothing
to write (a what-if, or a recorded call when no sink or producer is configured) and no
rule in force is scored without frames, with the same values (``tests/unit/api/
test_scoring_alone.py``); and when the state is in process and no database or broker is
configured, the batcher scores it on the event loop itself (:func:`inline_ok`). A
micro-batch of lone what-ifs is scored the same way, one after the other:
what-ifs change no state and each is scored as if alone (``scoring.what_if_rounds``), so
the answers are those of lone calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fraudguard import records
from fraudguard.features.state import InMemoryStateStore
from fraudguard.models.single import score_transaction


def _writes(service: Any) -> bool:
    """Whether a recorded call of ``service`` has sinks to deliver to (``SinkSet.deliver``)."""
    return service.sinks is not None and len(service.sinks) > 0


def inline_ok(service: Any, txs: Sequence[records.Transaction], record: bool) -> bool:
    """True when scoring this submission of ``service`` (a ScoringService) waits on no I/O:
    one transaction, in-process state, no sink, producer or rule store."""
    stores = (service.pipeline.card_store, service.pipeline.merchant_store)
    quiet = not _writes(service) and service.rules is None
    return len(txs) == 1 and quiet and all(isinstance(s, InMemoryStateStore) for s in stores)


# Every lone what-if of a micro-batch is scored one by one, however many (the batcher's
# ``max_items`` bounds a batch). Thread CPU per what-if: 85-110 µs one by one at any size;
# the frame path 1,550 µs at 2, 440 at 8, 130 at 32. A cap of 8 had been kept because at load
# 5-8 longer pure-Python loops (which hold the GIL) raised wrk's p99 at 200 connections. On a
# quiet machine, once the server froze its start-up heap (``fraudguard.heap``), the cap cost
# more than it saved (2026-11-29, wrk 200 connections, what-ifs): cap 8 4,331 req/s, p99
# 67.5 ms, 229 µs CPU per request; cap 64 4,484 req/s, p99 65.6 ms; no cap 5,496 req/s, p99
# 49.3 ms, 175 µs.


def score_alone(
    service: Any, groups: Sequence[tuple[Sequence[records.Transaction], bool]]
) -> list[list[records.Prediction]] | None:
    """Predictions of a lone transaction, or of several lone what-ifs, without frames;
    ``None`` when the frame path is needed (several transactions, something to write, rules in
    force). The caller holds the service's scoring lock."""
    if not groups or any(len(txs) != 1 for txs, _ in groups):
        return None
    if len(groups) > 1 and any(record for _, record in groups):
        return None
    if groups[0][1] and _writes(service):
        return None
    if service.rules is not None:
        service.rules.check()
        if service.rules.current.rules:
            return None
    now = datetime.now(UTC)
    return [
        [score_transaction(service.scorer, service.pipeline, txs[0], update=record, produced_at=now)]
        for txs, record in groups
    ]
