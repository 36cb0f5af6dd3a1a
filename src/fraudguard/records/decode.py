"""JSON bytes to validated :class:`~fraudguard.records.transaction.Transaction` records.

Transactions are decoded with msgspec typed structs (about 400k records/s per core) and
then checked by :func:`check_transaction` for rules the type system cannot express. Every
rejection names the field and the reason, because the dead-letter topic and the API both
report them to people who must fix the producer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import cast

import msgspec

from fraudguard.admission import DEFAULT_MAX_EVENT_SKEW_S, check_event_skew
from fraudguard.errors import ValidationError
from fraudguard.json_guard import MAX_JSON_DEPTH, JsonPayload, decode_guarded
from fraudguard.records.transaction import (
    MAX_EVENT_TIME,
    MAX_EXTRAS,
    MAX_MESSAGE_BYTES,
    MIN_EVENT_TIME,
    Rejection,
    Transaction,
)

_decoder = msgspec.json.Decoder(Transaction)
_MISSING = re.compile(r"missing required field `([^`]+)`")


def check_transaction(tx: Transaction) -> None:
    """Rules msgspec's type constraints cannot express; raises :class:`ValidationError`.

    Event times must carry a time zone (a naive time is ambiguous across regions) and lie
    in a plausible range; latitude and longitude come in pairs; extras are finite and few.
    """
    et = tx.event_time
    if et.tzinfo is None:
        raise ValidationError("event_time", "must include a UTC offset (ISO-8601, e.g. 2026-01-01T12:00:00Z)")
    if not (MIN_EVENT_TIME <= et < MAX_EVENT_TIME):
        raise ValidationError(
            "event_time", f"{et.isoformat()} is outside [{MIN_EVENT_TIME.year}, {MAX_EVENT_TIME.year})"
        )
    if not math.isfinite(tx.amount):
        raise ValidationError("amount", "must be a finite number")
    if (tx.customer_lat is None) != (tx.customer_lon is None):
        raise ValidationError("customer_lat", "customer_lat and customer_lon must be given together")
    if (tx.merchant_lat is None) != (tx.merchant_lon is None):
        raise ValidationError("merchant_lat", "merchant_lat and merchant_lon must be given together")
    if len(tx.extras) > MAX_EXTRAS:
        raise ValidationError("extras", f"at most {MAX_EXTRAS} extra features, got {len(tx.extras)}")
    for name, value in tx.extras.items():
        if not math.isfinite(value):
            raise ValidationError(f"extras.{name}", "must be a finite number")


def _field_of(message: str) -> str:
    """Pull the JSON path msgspec puts at the end of its messages (``- at `$.amount```)."""
    marker = "- at `"
    i = message.rfind(marker)
    prefix = ""
    if i >= 0:
        path = message[i + len(marker) :].rstrip("`")
        prefix = path[2:] if path.startswith("$.") else ("" if path == "$" else path)
    missing = _MISSING.search(message)
    if missing:
        return f"{prefix}.{missing.group(1)}" if prefix else missing.group(1)
    return prefix or "$"


def decode_transaction(payload: JsonPayload) -> Transaction:
    """Decode and validate one JSON transaction; raises :class:`ValidationError`."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ValidationError("$", f"message of {len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        tx = decode_guarded(_decoder.decode, payload)
    except msgspec.ValidationError as e:
        msg = str(e)
        raise ValidationError(_field_of(msg), msg.split(" - at ")[0]) from e
    except msgspec.DecodeError as e:
        raise ValidationError("$", f"malformed JSON: {e}") from e
    check_transaction(tx)
    return tx


def _near_limit(clock: datetime, max_skew_s: float | None) -> datetime | None:
    """A second before the skew limit: only later events need :func:`check_event_skew`'s
    exact test (``None``: no event can be refused, as when no limit is set)."""
    if max_skew_s is None:
        return None
    try:
        return clock + timedelta(seconds=max_skew_s - 1)
    except OverflowError:  # a limit past datetime's range refuses nothing
        return None if max_skew_s > 0 else datetime.min.replace(tzinfo=UTC)


def decode_batch(
    payloads: Iterable[JsonPayload],
    *,
    max_skew_s: float | None = DEFAULT_MAX_EVENT_SKEW_S,
    now: datetime | None = None,
) -> tuple[list[Transaction], list[tuple[int, Rejection]]]:
    """Decode many messages; return the good ones and ``(index, rejection)`` for the rest.

    Nothing raises, for any bytes: a stream must go on past a bad message, so each
    rejection is kept with its position for the caller to send, with the original bytes,
    to the DLQ. ``max_skew_s`` (``None``: no limit) refuses events dated further ahead
    of ``now`` (default: the wall clock) than that. An unforeseen decoder failure is a rejection too (``undecodable message``),
    never an exception: one poison message must not stop the stream.
    """
    good: list[Transaction] = []
    bad: list[tuple[int, Rejection]] = []
    clock = now or datetime.now(UTC)
    near = _near_limit(clock, max_skew_s)
    decode = _decoder.decode
    for i, p in enumerate(payloads):
        try:
            if type(p) is bytes and len(p) <= MAX_MESSAGE_BYTES and p.count(b"{") + p.count(b"[") <= MAX_JSON_DEPTH:
                # What every ordinary message is: the guards pass on these counts alone
                # (json_guard.check_depth), so decode at once; any failure goes the guarded
                # way, which names the rejection.
                try:
                    tx = decode(p)
                except Exception:
                    tx = decode_transaction(p)
                check_transaction(tx)
            else:
                tx = decode_transaction(p)
            if near is not None and tx.event_time > near:
                check_event_skew(tx, clock, cast(float, max_skew_s))
            good.append(tx)
        except ValidationError as e:
            bad.append((i, Rejection(field=e.field, reason=e.reason)))
        except Exception as e:
            bad.append((i, Rejection(field="$", reason=f"undecodable message ({type(e).__name__})")))
    return good, bad
