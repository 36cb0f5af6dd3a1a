"""``POST /v1/score``: one transaction or a list, scored by the stream's pipeline and models."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
from fastapi import APIRouter, HTTPException, Query, Request, Response

from fraudguard.admission import DEFAULT_MAX_EVENT_SKEW_S, check_event_skew
from fraudguard.api.deps import NO_MODEL, ServicesDep, WriteKey
from fraudguard.api.fastpath import encode_predictions
from fraudguard.api.schemas import MAX_BATCH, score_openapi, transaction_openapi
from fraudguard.errors import ValidationError
from fraudguard.json_guard import MAX_JSON_DEPTH, decode_guarded
from fraudguard.schema import Transaction, check_transaction

router = APIRouter(tags=["scoring"])
_decoder = msgspec.json.Decoder(Transaction | list[Transaction])
_PATH = re.compile(r" - at `\$(.*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")
TOO_MANY = f"too many transactions (at most {MAX_BATCH} per request)"


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


_body, _ = transaction_openapi()
_answer, _ = score_openapi()


@router.post(
    "/v1/score",
    dependencies=[WriteKey],
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _body}}}},
    responses={
        200: {"description": "One result per transaction", "content": {"application/json": {"schema": _answer}}},
        409: {"description": "record=true for a transaction_id already recorded with other content"},
        413: {"description": "body over the size limit or more than 1,000 transactions"},
        503: {"description": NO_MODEL},
    },
)
async def score(
    request: Request,
    services: ServicesDep,
    record: bool = Query(
        True, description="true: update the card's history (and store/publish the prediction); false: what-if"
    ),
) -> Response:
    """Score one transaction (object) or up to 1,000 (array); concurrent calls share model calls."""
    txs, single = decode_body(await request.body(), services.settings.max_event_skew_s)
    if services.batcher is None:
        raise HTTPException(503, NO_MODEL)
    preds = await services.batcher.submit(txs, record)
    # the fast path's encoder: the route and the fast path answer with the same bytes
    return Response(encode_predictions(preds, record, single), media_type="application/json")
