"""Round trips through the one converter keep every value and every dtype, nulls and extras included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudguard.errors import ValidationError
from fraudguard.records import (
    MODEL_NAMES,
    PREDICTION_COLUMNS,
    PREDICTION_SCHEMA,
    TRANSACTION_COLUMNS,
    TRANSACTION_SCHEMA,
    Prediction,
    Transaction,
    arrays_to_arrow,
    arrays_to_frame,
    arrays_to_json,
    decode_transaction,
    encode,
    encode_many,
    from_frame,
    prediction_records,
    predictions_from_arrow,
    predictions_to_arrow,
    to_frame,
    transaction_arrays,
)

T0 = datetime(2026, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)


def transactions() -> list[Transaction]:
    """One transaction with every optional field, one with none, one with other extras."""
    return [
        Transaction(
            transaction_id="t1", card_id="c1", event_time=T0, amount=12.5, merchant_id="m1",
            merchant_category="travel", customer_id="u1", currency="EUR", channel="online", card_present=False,
            customer_lat=48.85, customer_lon=2.35, merchant_lat=-33.9, merchant_lon=151.2, device_id="d1",
            is_fraud=True, fraud_scenario="card_testing", extras={"V1": -1.5, "V2": 0.25},
        ),
        Transaction(transaction_id="t2", card_id="c2", event_time=T0.replace(microsecond=0), amount=0.0, merchant_id="m2"),
        Transaction(
            transaction_id="t3", card_id="c1", event_time=T0.replace(hour=23), amount=999_999.99, merchant_id="m3",
            is_fraud=False, extras={"V3": 7.0},
        ),
    ]  # fmt: skip


def predictions(n: int = 3) -> pd.DataFrame:
    t = pd.DatetimeIndex(["2026-06-01T10:00:00.123456Z", "2026-06-01T10:00:01Z", "2026-06-01T11:00:00Z"])[:n]
    frame = pd.DataFrame(
        {
            "transaction_id": ["t1", "t2", "t3"][:n],
            "card_id": ["c1", "c2", "c1"][:n],
            "customer_id": [None, "u2", None][:n],
            "event_time": t,
            "amount": [1.5, 20.0, 300.25][:n],
            "merchant_id": ["m1", "m2", "m3"][:n],
            "merchant_category": ["retail", "travel", "other"][:n],
            "channel": ["pos", None, "atm"][:n],
            **{f"score_{m}": (np.array([0.1, 0.5, 0.99]) + j / 100)[:n] for j, m in enumerate(MODEL_NAMES)},
            "ensemble_score": [0.1, 0.6, 0.97][:n],
            "threshold": np.full(n, 0.5),
            "decision": np.array(["legit", "fraud", "fraud"], dtype=object)[:n],
            "reasons": [[], ["new_device"], ["velocity_1h", "night_time"]][:n],
            "model_version": ["v1"] * n,
            "rule_ids": [[], ["7", "3"], []][:n],
            "rule_action": [None, "block", None][:n],
            "shadow_rule_ids": [["9"], [], []][:n],
            "is_fraud": [np.nan, 1.0, 0.0][:n],
            "fraud_scenario": [None, "card_testing", None][:n],
            "produced_at": pd.DatetimeIndex([pd.NaT, t[1], t[2]][:n]),
            "scored_at": t + pd.Timedelta(seconds=1),
        }
    )
    frame.loc[0, "score_random_forest"] = np.nan  # a missing model score is NULL when stored
    return frame


def test_transaction_frame_to_arrow_to_frame_keeps_values_and_dtypes(tmp_path: Path) -> None:
    frame = to_frame(transactions())
    table = arrays_to_arrow(*transaction_arrays(frame))
    extras = [pa.field(f"x_V{i}", pa.float64()) for i in (1, 2, 3)]
    assert table.schema == pa.schema([*TRANSACTION_SCHEMA, *extras])
    assert table.column("customer_lat").null_count == 2 and table.column("is_fraud").to_pylist() == [1.0, None, 0.0]
    pq.write_table(table, tmp_path / "t.parquet")  # what the generator's files and the engine's history hold
    back = arrays_to_frame(*transaction_arrays(pd.read_parquet(tmp_path / "t.parquet")))
    pd.testing.assert_frame_equal(back, frame, check_dtype=True)
    assert str(back["event_time"].dtype) == "datetime64[ns, UTC]" and back["card_present"].dtype == bool
    assert from_frame(back) == transactions()


def test_transaction_struct_to_json_to_struct() -> None:
    txs = transactions()
    assert [decode_transaction(b) for b in encode_many(txs)] == txs
    assert decode_transaction(encode(txs[1])).customer_lat is None and decode_transaction(encode(txs[1])).extras == {}


def test_column_arrays_json_decodes_to_the_same_structs() -> None:
    """The generator's JSON (column arrays, no struct per row) is the struct's JSON, schema order, nulls as null."""
    txs = transactions()
    data, extras = transaction_arrays(to_frame(txs))
    docs = arrays_to_json(data, extras)
    assert [decode_transaction(b) for b in docs] == txs
    first = msgspec.json.decode(docs[1])
    assert list(first)[: len(TRANSACTION_COLUMNS)] == list(TRANSACTION_COLUMNS)
    assert first["is_fraud"] is None and first["customer_lat"] is None and first["extras"] == {}
    assert msgspec.json.decode(docs[0])["extras"] == {"V1": -1.5, "V2": 0.25}  # V3 is NaN there: left out
    assert [decode_transaction(b) for b in arrays_to_json(*transaction_arrays(to_frame(txs[1:2])))] == txs[1:2]


def test_struct_frame_struct() -> None:
    txs = transactions()
    frame = to_frame(txs)
    assert list(frame.columns) == [*TRANSACTION_COLUMNS, "x_V1", "x_V2", "x_V3"]
    assert frame["is_fraud"].dtype == np.float64 and np.isnan(frame["is_fraud"].iloc[1])
    assert from_frame(frame) == txs
    pd.testing.assert_frame_equal(to_frame(from_frame(frame)), frame)


def test_prediction_frame_to_arrow_to_frame_keeps_values_and_dtypes() -> None:
    frame = predictions()
    table = predictions_to_arrow(frame)
    assert table.schema == PREDICTION_SCHEMA
    assert table.column("is_fraud").to_pylist() == [None, True, False]
    assert table.column("score_random_forest").null_count == 1 and table.column("produced_at").null_count == 1
    back = predictions_from_arrow(table)
    assert list(back.columns) == list(PREDICTION_COLUMNS)
    pd.testing.assert_frame_equal(back, frame, check_dtype=True)


def test_prediction_frame_to_structs_to_json_to_structs() -> None:
    records = prediction_records(predictions())
    first, second = records[0], records[1]
    assert first.is_fraud is None and first.produced_at is None and first.rule_action is None
    assert np.isnan(first.scores["random_forest"]) and first.scores["xgboost"] == pytest.approx(0.1)
    # a NaN score encodes as null, which ``scores: dict[str, float]`` does not decode: round-trip the others
    assert [msgspec.json.decode(encode(p), type=Prediction) for p in records[1:]] == records[1:]
    assert second == Prediction(
        transaction_id="t2", card_id="c2", event_time=datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC), amount=20.0,
        merchant_id="m2", merchant_category="travel",
        scores={"xgboost": 0.5, "random_forest": 0.51, "isolation_forest": 0.52}, ensemble_score=0.6,
        threshold=0.5, decision="fraud", reasons=["new_device"], model_version="v1", rule_ids=["7", "3"],
        rule_action="block", shadow_rule_ids=[], is_fraud=True, fraud_scenario="card_testing",
        produced_at=datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC), scored_at=datetime(2026, 6, 1, 10, 0, 2, tzinfo=UTC),
    )  # fmt: skip
    assert records[2].is_fraud is False and records[2].reasons == ["velocity_1h", "night_time"]


def test_prediction_records_tolerate_missing_optional_columns_and_empty_frames() -> None:
    frame = predictions().drop(columns=["rule_ids", "rule_action", "shadow_rule_ids", "produced_at", "is_fraud"])
    records = prediction_records(frame)
    assert [r.rule_ids for r in records] == [[], [], []] and {r.is_fraud for r in records} == {None}
    assert prediction_records(predictions().iloc[:0]) == []
    nan_cells = predictions().assign(fraud_scenario=np.nan, rule_action=np.nan, rule_ids=np.nan)
    assert {(r.fraud_scenario, r.rule_action) for r in prediction_records(nan_cells)} == {(None, None)}
    assert {tuple(r.rule_ids) for r in prediction_records(nan_cells)} == {()}


def _reference_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The former column conversion, pandas all the way (``to_datetime``, ``astype``, ``where``)."""
    out: dict[str, np.ndarray] = {}
    for field in TRANSACTION_SCHEMA:
        col = frame[field.name]
        if pa.types.is_timestamp(field.type):
            out[field.name] = pd.to_datetime(col, utc=True).dt.as_unit("us").array.asi8
        elif pa.types.is_string(field.type):
            out[field.name] = col.astype(object).where(col.notna(), None).to_numpy(dtype=object)
    return out


@pytest.mark.parametrize(
    "times",
    [
        lambda t: t,  # datetime64[ns, UTC], as to_frame makes it
        lambda t: t.dt.tz_convert("America/Sao_Paulo"),  # aware, another zone
        lambda t: t.dt.tz_localize(None),  # naive, taken as UTC
        lambda t: t.dt.tz_localize(None).astype("datetime64[us]"),  # another unit
        lambda t: t.astype(object),  # Timestamp objects, parsed by pd.to_datetime
    ],
    ids=["utc", "other-zone", "naive", "microseconds", "objects"],
)
def test_column_arrays_equal_the_former_pandas_conversion(times) -> None:
    """Times (nanoseconds truncated to microseconds, NaT) and strings (None, NaN, pd.NA, a pandas
    string column) come out as the former conversion gave them, and never as the frame's own array."""
    frame = to_frame(transactions() * 3)
    frame["event_time"] = times(frame["event_time"] + pd.to_timedelta([0, 1, 999, 1_500, 0, 7, 0, 0, 3], unit="ns"))
    frame.loc[4, "event_time"] = pd.NaT
    frame.loc[0, "device_id"] = float("nan")
    frame.loc[5, "merchant_category"] = None
    frame["channel"] = frame["channel"].astype("string")
    frame.loc[2, "channel"] = pd.NA
    data, _extras = transaction_arrays(frame)
    for name, want in _reference_arrays(frame).items():
        assert data[name].dtype == want.dtype, name
        assert data[name].tolist() == want.tolist(), name
    assert data["device_id"][0] is None and data["merchant_category"][5] is None and data["channel"][2] is None
    data["card_id"][0] = "changed"
    assert frame.loc[0, "card_id"] == "c1"


def test_numeric_columns_convert_the_same_whatever_their_dtype() -> None:
    """NumPy float, int and bool columns take the direct path; object and nullable (pd.NA)
    columns take ``pd.to_numeric``: the same table either way, and the same refusals."""
    frame = predictions()
    fast = predictions_to_arrow(frame)
    numeric = ["amount", "score_random_forest", "ensemble_score", "threshold", "is_fraud"]
    for dtype in (object, "Float64"):
        assert predictions_to_arrow(frame.astype(dict.fromkeys(numeric, dtype))).equals(fast), dtype
    floats = frame.assign(amount=[1.0, 2.0, 3.0], is_fraud=[1.0, 0.0, 1.0])
    for amount, label in (([1, 2, 3], [True, False, True]), ([1, 2, 3], [1, 0, 1]), (["1", "2", "3"], [1.0, 0.0, 1.0])):
        assert predictions_to_arrow(frame.assign(amount=amount, is_fraud=label)).equals(predictions_to_arrow(floats))
    with pytest.raises(ValidationError, match=r"^amount: must be a finite number"):
        predictions_to_arrow(frame.assign(amount=[1.0, np.inf, 2.0]))
    with pytest.raises(ValidationError, match=r"^amount"):
        predictions_to_arrow(frame.assign(amount=["1.0", "lots", "2.0"]))
    with pytest.raises(ValidationError, match=r"^is_fraud"):
        predictions_to_arrow(frame.assign(is_fraud=[0.5, 0.0, 1.0]))
    assert predictions_to_arrow(frame.assign(is_fraud=["yes", None, 1])).column("is_fraud").to_pylist() == [
        None,
        None,
        True,
    ]
