"""``POST /v1/score``: one transaction or a list, scored by the stream's pipeline and models.

Most accepted calls are answered before they reach this route, by the fast path
(:mod:`fraudguard.api.fastpath`); both decode and encode with :mod:`fraudguard.api.codec`.
The route is what OpenAPI describes and what answers every other call.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response

from fraudguard.api.codec import decode_body, encode_response
from fraudguard.api.deps import NO_MODEL, ServicesDep, WriteKey
from fraudguard.api.schemas import score_openapi, transaction_openapi

router = APIRouter(tags=["scoring"])

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
    return Response(encode_response(preds, record, single), media_type="application/json")
