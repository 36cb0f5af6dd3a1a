"""The wire format of ``POST /v1/score``: request bytes to transactions, predictions to bytes.

The FastAPI route and the lean fast path (:mod:`fraudguard.api.fastpath`) both call
:func:`decode_body` and :func:`encode_response`, so a body is refused with the same
field-named 422 and a prediction is written with the same JSON whichever of the two
answers. msgspec does both directions: the stream's decoder guards (depth limit, nothing
but :class:`~fraudguard.errors.ValidationError` escapes) and one encode of the response
(:class:`~fraudguard.records.ScoreResult`, which OpenAPI shows too), without pydantic's
validation of our own output on the hot path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
from fastapi import HTTPException

from fraudguard.admission import DEFAULT_MAX_EVENT_SKEW_S, check_event_skew
from fraudguard.api.idempotency import StoredPrediction
from fraudguard.api.schemas import MAX_BATCH
from fraudguard.errors import ValidationError
from fraudguard.json_guard import MAX_JSON_DEPTH, decode_guarded
from fraudguard.records import Prediction, ScoreBatch, ScoreResult, Transaction, check_transaction

TOO_MANY = f"too many transactions (at most {MAX_BATCH} per request)"
_decoder = msgspec.json.Decoder(Transaction | list[Transaction])
_PATH = re.compile(r" - at `\$(.*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _field(message: str) -> tuple[str, str]:
    """(dotted field path, reason) from a msgspec error message."""
    m = _PATH.search(message)
    path = m.group(1) if m else ""
    reason = message[: m.start()] if m else message
    path = re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")
    missing = _MISSING.search(reason)
    if missing:
        path = f"{path}.{missing.group(1)}".lstrip(".")
    return path or "$", reason


def decode_body(body: bytes, max_skew_s: float | None = DEFAULT_MAX_EVENT_SKEW_S) -> tuple[list[Transaction], bool]:
    """Transactions of a request body and whether it was a single object; field-named errors.

    Never raises anything but :class:`ValidationError` (422) or a 413 ``HTTPException``,
    whatever the bytes; events more than ``max_skew_s`` ahead of the wall clock are refused.
    """
    if not body.strip():
        raise ValidationError("$", "request body must be a transaction or a list of transactions")
    try:  # one level more than the stream: the body may be a list of transactions
        decoded = decode_guarded(_decoder.decode, body, MAX_JSON_DEPTH + 1)
    except msgspec.ValidationError as e:
        raise ValidationError(*_field(str(e))) from e
    except msgspec.DecodeError as e:
        raise ValidationError("$", f"malformed JSON: {e}") from e
    except (ValidationError, HTTPException):
        raise
    except Exception as e:
        raise ValidationError("$", f"undecodable request body ({type(e).__name__})") from e
    single = isinstance(decoded, Transaction)
    txs = [decoded] if single else decoded
    if not txs:
        raise ValidationError("$", "the list of transactions is empty")
    if len(txs) > MAX_BATCH:
        raise HTTPException(413, TOO_MANY)
    now = datetime.now(UTC)
    for i, tx in enumerate(txs):
        try:
            check_transaction(tx)
            if max_skew_s is not None:
                check_event_skew(tx, now, max_skew_s)
        except ValidationError as e:
            raise ValidationError(e.field if single else f"{i}.{e.field}", e.reason) from e
    return txs, single


_encode = msgspec.json.Encoder().encode


def encode_response(preds: list[Prediction], recorded: bool, single: bool) -> bytes:
    """The response body of ``POST /v1/score`` for ``preds`` (one object or ``{"predictions": [...]}``).

    A stored decision returned for a repeated id (:class:`StoredPrediction`) says
    ``"recorded": false, "duplicate": true`` whatever ``recorded`` is.
    """
    out = [
        ScoreResult(
            p.transaction_id,
            p.card_id,
            p.scores,
            p.ensemble_score,
            p.threshold,
            p.decision,
            p.reasons,
            p.model_version,
            recorded and not isinstance(p, StoredPrediction),
            isinstance(p, StoredPrediction),
            p.rule_ids,
            p.rule_action,  # type: ignore[arg-type]  # rules.RuleSet only sets allow, review or block
        )
        for p in preds
    ]
    return _encode(out[0] if single else ScoreBatch(out))
