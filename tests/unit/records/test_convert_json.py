"""Kafka JSON of predictions and alerts decodes back into the schema's records."""

from __future__ import annotations

import msgspec
import numpy as np
import pandas as pd

from fraudguard.records.convert_json import encode_alerts, encode_predictions
from fraudguard.schema import MODEL_NAMES, PREDICTION_COLUMNS, Alert, Prediction


def frame(n: int = 5) -> pd.DataFrame:
    t = pd.date_range("2026-01-01", periods=n, freq="s", tz="UTC")
    f = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "card_id": "c1",
            "customer_id": None,
            "event_time": t,
            "amount": np.arange(n) + 0.5,
            "merchant_id": "m",
            "merchant_category": "grocery",
            "channel": "pos",
            **{f"score_{m}": np.linspace(0, 1, n) for m in MODEL_NAMES},
            "ensemble_score": np.linspace(0, 1, n),
            "threshold": 0.5,
            "decision": np.where(np.linspace(0, 1, n) >= 0.5, "fraud", "legit"),
            "reasons": [["velocity_1h"] if i >= n // 2 else [] for i in range(n)],
            "model_version": "v1",
            "rule_ids": [["7", "3"] if i == 1 else [] for i in range(n)],
            "rule_action": ["block" if i == 1 else None for i in range(n)],
            "shadow_rule_ids": [["9"] if i == 2 else [] for i in range(n)],
            "is_fraud": [np.nan, 1.0, 0.0, np.nan, 1.0][:n],
            "fraud_scenario": None,
            "produced_at": pd.Series([pd.NaT, *list(t[1:])], dtype="datetime64[ns, UTC]"),
            "scored_at": t + pd.Timedelta("5ms"),
        }
    )
    return f[list(PREDICTION_COLUMNS)]


def test_predictions_round_trip_through_the_schema():
    f = frame()
    out = [msgspec.json.decode(b, type=Prediction) for b in encode_predictions(f)]
    assert [p.transaction_id for p in out] == f["transaction_id"].tolist()
    assert out[0].produced_at is None and out[1].produced_at is not None
    assert [p.is_fraud for p in out] == [None, True, False, None, True]
    assert out[4].scores["xgboost"] == 1.0 and out[4].reasons == ["velocity_1h"]
    assert out[2].scored_at == pd.Timestamp("2026-01-01T00:00:02.005Z").to_pydatetime()
    assert (out[1].rule_ids, out[1].rule_action, out[2].shadow_rule_ids) == (["7", "3"], "block", ["9"])
    assert (out[0].rule_ids, out[0].rule_action, out[0].shadow_rule_ids) == ([], None, [])


def test_alerts_round_trip_and_empty_frames_encode_nothing():
    f = frame()
    fraud = f[f["decision"] == "fraud"]
    alerts = [msgspec.json.decode(b, type=Alert) for b in encode_alerts(fraud)]
    assert [a.transaction_id for a in alerts] == fraud["transaction_id"].tolist()
    assert encode_predictions(f.iloc[:0]) == [] and encode_alerts(f.iloc[:0]) == []


def test_column_wise_json_equals_msgspec_dicts_with_hostile_strings():
    f = frame()
    f["transaction_id"] = ['q"uote', "back\\slash", "new\nline\x00", "émoji 😀", "t4"]
    f["reasons"] = [['a"b'], [], ["c\\d", "e"], [], ["x"]]
    f["score_xgboost"] = [np.nan, 0.1, 1e-300, 1e20, 0.5]
    out = encode_predictions(f)
    for row, raw in zip(f.to_dict("records"), out, strict=True):
        decoded = msgspec.json.decode(raw)
        assert decoded["transaction_id"] == row["transaction_id"]
        assert decoded["reasons"] == row["reasons"]
        x = row["score_xgboost"]
        assert decoded["scores"]["xgboost"] == (None if np.isnan(x) else x)
        assert raw == msgspec.json.encode(decoded), "same bytes as msgspec encoding the record as a dict"


def test_arrow_timestamp_json_equals_msgspec_of_numpy_iso_text():
    """The Arrow-built timestamp JSON is byte for byte msgspec's encoding of NumPy's ISO text."""
    from fraudguard.records.convert_json import _iso_json

    ts = pd.Series(
        pd.to_datetime(
            ["2026-01-01T12:00:00Z", "1969-12-31T23:59:59.5Z", None, "2026-03-04T05:06:07.123456789Z"],
            utc=True,
            format="ISO8601",
        )
    )
    for series in (ts, ts.dt.tz_convert("Asia/Kolkata")):
        values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        text = [None if np.isnat(v) else f"{np.datetime_as_string(v, unit='us')}Z" for v in values]
        assert _iso_json(series).to_pylist() == [msgspec.json.encode(t) for t in text]


def _column_path(record: type, f: pd.DataFrame) -> list[bytes]:
    from fraudguard.records import convert_json

    return convert_json._join_object(
        [(k, convert_json._FIELD_ENCODERS[k](f)) for k in record.__struct_fields__], len(f)
    )


def _row_path(record: type, f: pd.DataFrame) -> list[bytes]:
    from fraudguard.records import convert_json

    return convert_json._object_rows([(k, convert_json._ROW_ENCODERS[k](f)) for k in record.__struct_fields__])


def test_small_frames_take_the_row_wise_twin_with_the_same_bytes():
    """Under SMALL_ROWS rows the encoders run row by row; every byte equals the column path's."""
    from fraudguard.records.convert_json import SMALL_ROWS

    hostile = frame()
    hostile["transaction_id"] = ['q"uote', "back\\slash", "new\nline\x00", "émoji 😀", "t4"]
    hostile["reasons"] = [['a"b'], [], ["c\\d", "e"], [], ["x"]]
    hostile["score_xgboost"] = [np.nan, 0.1, 1e-300, 1e20, 0.5]
    hostile["fraud_scenario"] = [None, "card_testing", None, "geo", None]
    hostile["event_time"] = hostile["event_time"].dt.tz_convert("Asia/Kolkata")  # any zone: UTC text
    hostile["scored_at"] = pd.Series([pd.NaT, *hostile["scored_at"].iloc[1:]], dtype="datetime64[ns, UTC]")
    for n in (1, 2, 5, SMALL_ROWS - 1, SMALL_ROWS, SMALL_ROWS + 7):
        f = pd.concat([hostile] * (n // 5 + 1), ignore_index=True).iloc[:n]
        assert encode_predictions(f) == _column_path(Prediction, f)
        fraud = f[f["decision"] == "fraud"]
        assert encode_alerts(fraud) == _column_path(Alert, fraud)


def test_columns_holding_one_value_are_encoded_once_with_the_same_bytes():
    """A column whose rows all hold one value is encoded from its first row and repeated by
    the join: every byte equals the row-wise twin's, for each kind of column, for a column that
    differs only in its last row (-0.0 after 0.0 too), for NaN / NaT columns and for a frame
    of identical rows."""
    from fraudguard.records.convert_json import SMALL_ROWS

    n = SMALL_ROWS + 3
    base = pd.concat([frame()] * (n // 5 + 1), ignore_index=True).iloc[:n]
    same = base.copy()
    for col in ("reasons", "rule_ids", "shadow_rule_ids"):
        same[col] = [[] for _ in range(n)]
    same["rule_action"], same["fraud_scenario"], same["is_fraud"] = "block", "geo", np.nan
    same["produced_at"] = pd.Series([pd.NaT] * n, dtype="datetime64[ns, UTC]")
    same["customer_id"], same["amount"] = None, 0.0
    last = same.copy()
    last.loc[n - 1, "threshold"] = 0.25
    last.loc[n - 1, "amount"] = -0.0  # equal to 0.0, but not the same JSON
    last.loc[n - 1, "model_version"] = "v2"
    last.loc[n - 1, "scored_at"] = last.loc[0, "scored_at"] + pd.Timedelta("1us")
    last.at[n - 1, "rule_ids"] = ["x"]
    last["is_fraud"] = 1.0
    identical = same.iloc[[0] * n].reset_index(drop=True)
    for f in (base, same, last, identical):
        rows = _row_path(Prediction, f)
        assert encode_predictions(f) == rows
        assert [msgspec.json.decode(r, type=Prediction) for r in rows]  # valid records
        fraud = f[f["decision"] == "fraud"]
        assert encode_alerts(fraud) == _row_path(Alert, fraud)
    assert encode_predictions(last)[-1] != encode_predictions(last)[0]
