"""Admission rules that depend on the process, not on the message alone: wall clock and model.

* **Event time skew.** An event dated more than ``max_skew_s`` ahead of the wall clock is
  refused (stream: dead letter on field ``event_time``; API: 422). One valid transaction
  dated 2099 used to move the feature state's expiry clock 73 years ahead and wipe every
  card. Past events are not limited (replays of history are legitimate).
* **Bounded extras.** At most ``max_extras`` names per transaction, and only the names the
  loaded model's card lists when a model is loaded; the others are dropped and counted.
  Each distinct name became a frame column, so 256 names per transaction cost seconds.

Pure: no I/O, used by :mod:`fraudguard.records`, the engines and the API.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from fraudguard.errors import ValidationError

if TYPE_CHECKING:
    from fraudguard.records.transaction import Transaction

DEFAULT_MAX_EVENT_SKEW_S = 600.0
"""Events more than this far ahead of the wall clock are refused (``Settings.max_event_skew_s``)."""
DEFAULT_MAX_EXTRAS = 64
"""Extras names kept per transaction (``Settings.max_extras``)."""


def check_event_skew(tx: Transaction, now: datetime, max_skew_s: float) -> None:
    """Refuse an event more than ``max_skew_s`` ahead of ``now`` (the wall clock).

    A clock-skewed or hostile producer must not date events in the future: the feature
    state's expiry clock follows event time, and windows would count the event as recent
    for days. Past events are not limited here (replays of history are legitimate).
    """
    ahead = (tx.event_time - now).total_seconds()
    if ahead > max_skew_s:
        raise ValidationError(
            "event_time",
            f"{tx.event_time.isoformat()} is {ahead:.0f}s ahead of the wall clock (at most {max_skew_s:.0f}s)",
        )


def bound_extras(
    transactions: Sequence[Transaction], max_extras: int, known: Collection[str] | None = None
) -> tuple[list[Transaction], int]:
    """Keep at most ``max_extras`` extras names per transaction, only ``known`` ones if given.

    A model uses the extras named in its card and nothing else; every other name would
    become a frame column (cost) and carries nothing. Kept names are the known ones in
    message order. Returns the transactions and how many (name, value) pairs were dropped.
    Cost is linear in the number of pairs.
    """
    out: list[Transaction] = []
    dropped = 0
    for t in transactions:
        ex = t.extras
        if not ex or (len(ex) <= max_extras and (known is None or all(k in known for k in ex))):
            out.append(t)
            continue
        names = [k for k in ex if known is None or k in known][:max_extras]
        dropped += len(ex) - len(names)
        out.append(msgspec.structs.replace(t, extras={k: ex[k] for k in names}))
    return out, dropped


@dataclass(frozen=True, slots=True)
class AdmissionPolicy:
    """The process's admission settings (``Settings.max_event_skew_s`` and ``max_extras``)."""

    max_skew_s: float | None = DEFAULT_MAX_EVENT_SKEW_S
    max_extras: int = DEFAULT_MAX_EXTRAS


def content_key(tx: Transaction) -> tuple[object, ...]:
    """What makes two postings of one ``transaction_id`` the same transaction.

    The fields every stored decision keeps (card, time, amount, merchant), so the API can
    compare a re-post with a row read back from PostgreSQL as well as with one in memory.
    """
    return (tx.card_id, tx.event_time.timestamp(), float(tx.amount), tx.merchant_id, tx.merchant_category)


def known_extras(model_extras: Sequence[str], prefix: str = "x_") -> frozenset[str]:
    """Extras names (without the ``x_`` column prefix) a loaded model uses (empty: it uses none)."""
    return frozenset(e[len(prefix) :] if e.startswith(prefix) else e for e in model_extras)


__all__ = [
    "DEFAULT_MAX_EVENT_SKEW_S",
    "DEFAULT_MAX_EXTRAS",
    "AdmissionPolicy",
    "bound_extras",
    "check_event_skew",
    "content_key",
    "known_extras",
]
