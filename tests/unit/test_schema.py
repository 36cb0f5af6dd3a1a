"""Every validation rule of the transaction schema, and the frame conversions."""

from __future__ import annotations

import json
import math

import msgspec
import pytest

from fraudguard import schema
from fraudguard.errors import ValidationError

BASE = {
    "transaction_id": "t-1",
    "card_id": "card-1",
    "event_time": "2026-03-01T12:30:00Z",
    "amount": 42.5,
    "merchant_id": "m-1",
    "merchant_category": "grocery",
    "channel": "pos",
    "customer_lat": 52.5,
    "customer_lon": 13.4,
    "merchant_lat": 52.51,
    "merchant_lon": 13.39,
    "extras": {"V1": -1.25},
}


def payload(**changes: object) -> bytes:
    record = {**BASE, **changes}
    for k in [k for k, v in changes.items() if v is _DROP]:
        del record[k]
    return json.dumps(record).encode()


_DROP = object()


def rejected(raw: bytes | str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        schema.decode_transaction(raw)
    return info.value


def test_valid_record_decodes_with_utc_time_and_extras():
    tx = schema.decode_transaction(payload())
    assert tx.event_time.utcoffset().total_seconds() == 0
    assert tx.extras == {"V1": -1.25}
    assert tx.currency == "USD" and tx.card_present is True


def test_offset_times_are_accepted_and_kept_aware():
    tx = schema.decode_transaction(payload(event_time="2026-03-01T14:30:00+02:00"))
    assert tx.event_time.timestamp() == schema.decode_transaction(payload()).event_time.timestamp()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"card_id": _DROP}, "card_id"),
        ({"transaction_id": _DROP}, "transaction_id"),
        ({"amount": "12"}, "amount"),
        ({"amount": -0.01}, "amount"),
        ({"amount": 1e12}, "amount"),
        ({"transaction_id": ""}, "transaction_id"),
        ({"card_id": "x" * 500}, "card_id"),
        ({"channel": "telepathy"}, "channel"),
        ({"currency": "usd"}, "currency"),
        ({"customer_lat": 123.0}, "customer_lat"),
        ({"merchant_lon": -181.0}, "merchant_lon"),
        ({"card_present": "yes"}, "card_present"),
        ({"event_time": "yesterday"}, "event_time"),
        ({"event_time": "2026-03-01T12:30:00"}, "event_time"),
        ({"event_time": "1970-01-02T00:00:00Z"}, "event_time"),
        ({"event_time": "2150-01-01T00:00:00Z"}, "event_time"),
        ({"customer_lon": _DROP}, "customer_lat"),
        ({"merchant_lat": _DROP}, "merchant_lat"),
        ({"extras": {"V1": "a"}}, "extras"),
        ({"extras": {f"V{i}": 1.0 for i in range(300)}}, "extras"),
        ({"is_fraud": "maybe"}, "is_fraud"),
    ],
)
def test_each_rule_names_the_field(changes, field):
    err = rejected(payload(**changes))
    assert err.field.startswith(field), (err.field, err.reason)
    assert err.reason


def test_malformed_and_non_utf8_and_oversized_payloads():
    assert rejected(b"{not json").field == "$"
    assert rejected(b"\xff\xfe\x00garbage").field == "$"
    assert rejected(b"[1, 2, 3]").field == "$"
    big = rejected(b'{"x": "' + b"a" * (2 * schema.MAX_MESSAGE_BYTES) + b'"}')
    assert big.field == "$" and "exceeds" in big.reason


def test_nan_and_infinity_are_refused():
    # JSON has no NaN; some producers send it anyway, as a bare token or a string.
    assert rejected(payload().replace(b"42.5", b"NaN")).field in {"$", "amount"}
    assert rejected(payload(amount="NaN")).field == "amount"
    assert rejected(payload().replace(b"42.5", b"1e999")).field == "amount"


def test_decode_batch_keeps_going_and_reports_positions():
    raws = [payload(), b"oops", payload(transaction_id="t-2"), payload(amount=-1)]
    good, bad = schema.decode_batch(raws)
    assert [t.transaction_id for t in good] == ["t-1", "t-2"]
    assert [i for i, _ in bad] == [1, 3]
    assert bad[1][1].field == "amount"


def test_unknown_fields_are_ignored_and_unknown_categories_kept():
    tx = schema.decode_transaction(payload(merchant_category="space_tourism", surprise=1))
    assert tx.merchant_category == "space_tourism"


def test_encode_round_trip_is_lossless():
    tx = schema.decode_transaction(payload(is_fraud=True, fraud_scenario="card_testing"))
    assert schema.decode_transaction(schema.encode(tx)) == tx


def test_frame_round_trip_and_types():
    txs = [
        schema.decode_transaction(payload()),
        schema.decode_transaction(payload(transaction_id="t-2", customer_lat=_DROP, customer_lon=_DROP, extras={})),
    ]
    frame = schema.to_frame(txs)
    assert list(frame.columns[: len(schema.FRAME_COLUMNS)]) == list(schema.FRAME_COLUMNS)
    assert str(frame["event_time"].dtype) == "datetime64[ns, UTC]"
    assert math.isnan(frame["customer_lat"].iloc[1])
    assert math.isnan(frame["x_V1"].iloc[1])
    assert math.isnan(frame["is_fraud"].iloc[0])
    assert schema.from_frame(frame) == txs


def test_records_encode_as_json_with_iso_times():
    label = schema.Label(transaction_id="t-1", is_fraud=True)
    assert json.loads(schema.encode(label)) == {
        "transaction_id": "t-1",
        "is_fraud": True,
        "source": "analyst",
        "labelled_at": None,
    }
    assert msgspec.json.decode(schema.encode(schema.Rejection(field="amount", reason="x")))["field"] == "amount"


def test_frame_layouts_are_reexported_from_schema():
    from fraudguard import records, schema

    assert schema.FRAME_COLUMNS is records.TRANSACTION_COLUMNS
    assert schema.PREDICTION_COLUMNS is records.PREDICTION_COLUMNS
    assert schema.from_frame is records.from_frame and schema.prediction_records is records.prediction_records
    # every column a prediction copies from its transaction is in both layouts
    assert set(records.PASS_THROUGH_COLUMNS) <= set(schema.PREDICTION_COLUMNS) & set(schema.FRAME_COLUMNS)
