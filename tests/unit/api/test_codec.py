"""The one wire format of ``POST /v1/score`` matches what OpenAPI documents (``records.ScoreResult``)."""

from __future__ import annotations

import msgspec
import pytest
from fastapi import HTTPException

from fraudguard import schema
from fraudguard.api.codec import TOO_MANY, decode_body
from fraudguard.api.schemas import MAX_BATCH, score_openapi
from fraudguard.errors import ValidationError
from fraudguard.generator import generate_frame
from fraudguard.records import ScoreBatch, ScoreResult


def test_the_answer_has_the_documented_fields_in_order() -> None:
    _answer, components = score_openapi()
    assert tuple(components["ScoreResult"]["properties"]) == ScoreResult.__struct_fields__
    assert tuple(components["ScoreBatch"]["properties"]) == ScoreBatch.__struct_fields__
    wire = msgspec.to_builtins(ScoreResult("t", "c", {}, 0.0, 0.5, "legit", [], "v", True))
    assert {k: wire[k] for k in ("duplicate", "rule_ids", "rule_action")} == {
        "duplicate": False,
        "rule_ids": [],
        "rule_action": None,
    }


def test_decode_refusals_name_the_field() -> None:
    with pytest.raises(ValidationError) as e:
        decode_body(b"[]")
    assert e.value.field == "$"
    with pytest.raises(ValidationError) as e:
        decode_body(b'[{"transaction_id": 1}]')
    assert e.value.field == "0.transaction_id"
    one = schema.encode_many(schema.from_frame(generate_frame(1, seed=4)))[0]
    assert len(decode_body(b"[" + b",".join([one] * MAX_BATCH) + b"]")[0]) == MAX_BATCH
    with pytest.raises(HTTPException) as too_many:
        decode_body(b"[" + b",".join([one] * (MAX_BATCH + 1)) + b"]")
    assert (too_many.value.status_code, too_many.value.detail) == (413, TOO_MANY)
