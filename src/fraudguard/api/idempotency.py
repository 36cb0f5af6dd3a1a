"""Idempotent recording: a ``transaction_id`` is decided once, whatever is posted later.

Before, ``record=true`` with an id already recorded re-scored it, counted it again in the
card's state (5 posts: 0.0012 -> 0.088) and overwrote the stored row; a confirmed fraud
re-posted with benign content became legit. The rules now:

* same id, same content (card, event time, amount, merchant; :func:`content_key`): the
  stored decision is answered again, ``recorded: false, duplicate: true``; no state,
  database row or Kafka message changes;
* same id, other content: ``409 Conflict`` for the whole request, nothing applied;
* a request is checked entirely before any of it is applied.

"Already recorded" is looked up in this process's recent decisions (:class:`RecordedLog`)
and then in PostgreSQL (the rows the stream and earlier API processes stored) when the
API has a database. What-ifs (``record=false``) are never checked.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import msgspec
from fastapi import HTTPException

from fraudguard.admission import content_key
from fraudguard.schema import Prediction, Transaction

Lookup = Callable[[list[str]], dict[str, Prediction]]
Slot = tuple[str, object]
"""``("fresh", tx)`` scored now, ``("stored", prediction)`` answered again, ``("same", id)``
a repeat inside this batch of an id scored now."""


class StoredPrediction(Prediction, kw_only=True):
    """A decision recorded earlier, answered again for a re-posted id (``duplicate: true``)."""

    @classmethod
    def of(cls, p: Prediction) -> StoredPrediction:
        return cls(**msgspec.structs.asdict(p))


class RecordedLog:
    """The last ``capacity`` recorded decisions of this process, by transaction id."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._d: OrderedDict[str, Prediction] = OrderedDict()

    def get(self, tid: str) -> Prediction | None:
        return self._d.get(tid)

    def add_many(self, preds: Sequence[Prediction]) -> None:
        for p in preds:
            self._d.setdefault(p.transaction_id, p)
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)


def conflict(tid: str) -> HTTPException:
    return HTTPException(409, f"transaction_id {tid!r} was already recorded with other content")


def triage(
    groups: Sequence[tuple[Sequence[Transaction], bool]], log: RecordedLog, lookup: Lookup | None
) -> tuple[list[tuple[list[Transaction], bool]], list[list[Slot]], dict[int, Exception]]:
    """Split recorded submissions into what to score now and what was decided before.

    Returns the groups to score (recorded ones reduced to their fresh transactions), one
    slot list per submission to rebuild its answer, and the submissions refused (409).
    """
    unknown = [t.transaction_id for txs, rec in groups if rec for t in txs if log.get(t.transaction_id) is None]
    stored = lookup(unknown) if unknown and lookup is not None else {}
    claimed: dict[str, tuple[object, ...]] = {}
    scored: list[tuple[list[Transaction], bool]] = []
    slots: list[list[Slot]] = []
    errors: dict[int, Exception] = {}
    for gi, (txs, rec) in enumerate(groups):
        if not rec:
            scored.append((list(txs), False))
            slots.append([("fresh", t) for t in txs])
            continue
        fresh: list[Transaction] = []
        mine: list[Slot] = []
        local: dict[str, tuple[object, ...]] = {}
        bad: str | None = None
        for t in txs:
            tid, key = t.transaction_id, content_key(t)
            prev = log.get(tid) or stored.get(tid)
            seen = content_key(prev) if prev is not None else claimed.get(tid, local.get(tid))  # type: ignore[arg-type]
            if seen is not None and seen != key:
                bad = tid
                break
            if prev is not None:
                mine.append(("stored", prev))
            elif seen is not None:
                mine.append(("same", tid))
            else:
                local[tid] = key
                fresh.append(t)
                mine.append(("fresh", t))
        if bad is not None:
            errors[gi] = conflict(bad)
            scored.append(([], True))
            slots.append([])
            continue
        claimed.update(local)
        scored.append((fresh, True))
        slots.append(mine)
    return scored, slots, errors


def assemble(
    slots: list[list[Slot]], scored: list[list[Prediction]], errors: dict[int, Exception]
) -> list[list[Prediction] | Exception]:
    """Each submission's answer: new predictions in order, stored ones marked, or its error."""
    now = {p.transaction_id: p for preds in scored for p in preds}
    out: list[list[Prediction] | Exception] = []
    for gi, (mine, preds) in enumerate(zip(slots, scored, strict=True)):
        if gi in errors:
            out.append(errors[gi])
            continue
        it = iter(preds)
        answer: list[Prediction] = []
        for kind, value in mine:
            if kind == "fresh":
                answer.append(next(it))
            elif kind == "stored":
                answer.append(StoredPrediction.of(value))  # type: ignore[arg-type]
            else:
                answer.append(StoredPrediction.of(now[value]))  # type: ignore[index]
        out.append(answer)
    return out


__all__ = ["RecordedLog", "StoredPrediction", "assemble", "conflict", "triage"]
