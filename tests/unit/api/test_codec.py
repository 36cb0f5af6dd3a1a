"""The one wire format of ``POST /v1/score`` matches what OpenAPI documents (``ScoreOut``)."""

from __future__ import annotations

import msgspec
import pytest
from fastapi import HTTPException

from fraudguard import schema
from fraudguard.api.codec import TOO_MANY, ScoreBatchBody, ScoreBody, decode_body
from fraudguard.api.schemas import MAX_BATCH, ScoreBatchOut, ScoreOut
from fraudguard.errors import ValidationError
from fraudguard.generator import generate_frame


def test_wire_structs_have_the_documented_fields_in_order() -> None:
    assert ScoreBody.__struct_fields__ == tuple(ScoreOut.model_fields)
    assert ScoreBatchBody.__struct_fields__ == tuple(ScoreBatchOut.model_fields)
    defaults = {f: ScoreOut.model_fields[f].get_default(call_default_factory=True) for f in ScoreOut.model_fields}
    wire = msgspec.to_builtins(ScoreBody("t", "c", {}, 0.0, 0.5, "legit", [], "v", True))
    assert {k: v for k, v in wire.items() if k in ("duplicate", "rule_ids", "rule_action")} == {
        k: defaults[k] for k in ("duplicate", "rule_ids", "rule_action")
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
