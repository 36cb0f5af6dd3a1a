"""Dataset readers: each format's columns land on the schema; bad rows are counted, not fatal."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudguard.errors import DataFormatError
from fraudguard.generator.columns import Columns
from fraudguard.generator.dataset_formats import parse_mapping
from fraudguard.generator.datasets import read_dataset
from fraudguard.schema import FRAME_COLUMNS, decode_transaction
from tests.unit.generator.datafiles import write_sparkov, write_table, write_ulb

TABLE_MAP = {
    "transaction_id": "id",
    "card_id": "card",
    "time": "ts",
    "amount": "value",
    "merchant_id": "shop",
    "label": "fraud",
    "x_score": "score",
}


def _all_valid(frame: pd.DataFrame) -> None:
    for message in Columns.from_frame(frame).encode():
        decode_transaction(message)


def test_ulb_maps_time_amount_class_and_pca_extras(tmp_path):
    frame, bad = read_dataset("ulb", write_ulb(tmp_path / "creditcard.csv"))
    assert len(frame) == 8
    assert tuple(frame.columns[: len(FRAME_COLUMNS)]) == FRAME_COLUMNS
    assert [c for c in frame.columns if c.startswith("x_")] == [f"x_V{i}" for i in range(1, 29)]
    assert frame["event_time"].iloc[1] == pd.Timestamp("2013-09-01T00:00:07.5Z")
    assert frame["amount"].tolist() == [1.25 + i for i in range(8)]
    assert frame["is_fraud"].tolist() == [float(i % 2) for i in range(8)]
    assert frame["card_id"].is_unique  # one synthetic card per row
    assert frame["x_V2"].iloc[0] == pytest.approx(0.51)
    assert bad.count == 3
    assert set(bad.reasons) == {
        "malformed CSV line (expected 31 fields, got 3)",
        "amount not a number",
        "label not 0 or 1",
    }
    _all_valid(frame)


def test_ulb_start_moves_the_origin(tmp_path):
    frame, _ = read_dataset("ulb", write_ulb(tmp_path / "c.csv"), start=datetime(2024, 1, 1, tzinfo=UTC))
    assert frame["event_time"].iloc[0] == pd.Timestamp("2024-01-01T00:00:00Z")


def test_sparkov_maps_cards_categories_channels_and_locations(tmp_path):
    frame, bad = read_dataset("sparkov", write_sparkov(tmp_path / "fraudTrain.csv"))
    assert len(frame) == 6
    assert frame["merchant_category"].tolist() == ["grocery", "retail", "fuel", "other", "restaurant", "retail"]
    assert frame["channel"].tolist() == ["pos", "online", "pos", "online", "pos", "pos"]
    assert frame["card_present"].tolist() == [True, False, True, False, True, True]
    assert frame["card_id"].iloc[0] == "4000000000000000"
    assert frame["transaction_id"].iloc[2] == "tn00002"
    assert frame["merchant_id"].iloc[0] == "fraud_Shop 0, Inc"
    assert frame["customer_lat"].iloc[0] == pytest.approx(39.78)
    assert frame["merchant_lon"].iloc[0] == pytest.approx(-89.1)
    assert frame["x_city_pop"].iloc[0] == 116000
    assert frame["event_time"].iloc[3] == pd.Timestamp("2019-01-01T00:03:18Z")
    assert dict(bad.reasons) == {"amount not a number": 1, "time not parseable": 1}
    _all_valid(frame)


def test_table_csv_with_a_mapping(tmp_path):
    frame, bad = read_dataset("table", write_table(tmp_path / "t.csv"), mapping=TABLE_MAP)
    assert frame["transaction_id"].tolist() == [f"t{i}" for i in range(5)]
    assert frame["is_fraud"].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert frame["x_score"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert frame["merchant_id"].tolist() == [f"m{i}" for i in range(5)]
    assert dict(bad.reasons) == {"missing card_id": 1, "amount outside [0, 1,000,000]": 1}
    _all_valid(frame)


def test_table_parquet_with_epoch_seconds_and_relative_seconds(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table({"c": ["a", "b", "a"], "t": [1_700_000_000, 1_700_000_060, 1_700_000_030], "a": [1.0, 2.0, 3.0]}), path
    )
    frame, bad = read_dataset("table", path, mapping={"card_id": "c", "time": "t", "amount": "a"})
    assert bad.count == 0
    assert frame["amount"].tolist() == [1.0, 3.0, 2.0]  # sorted by time
    assert frame["event_time"].iloc[0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert frame["transaction_id"].tolist() == ["row-0", "row-2", "row-1"]
    assert frame["is_fraud"].isna().all()
    rel = tmp_path / "r.parquet"
    pq.write_table(pa.table({"c": ["a"], "t": [90.0], "a": [1.0]}), rel)
    frame, _ = read_dataset(
        "table", rel, mapping={"card_id": "c", "time": "t", "amount": "a"}, start=datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert frame["event_time"].iloc[0] == pd.Timestamp("2024-01-01T00:01:30Z")
    _all_valid(frame)


def test_large_csv_is_read_in_several_batches(tmp_path, monkeypatch):
    from fraudguard.generator import datasets

    monkeypatch.setattr(datasets, "BATCH_BYTES", 4_096)
    frame, bad = read_dataset("ulb", write_ulb(tmp_path / "c.csv", good=300))
    assert len(frame) == 300 and bad.count == 3
    assert frame["transaction_id"].is_unique


@pytest.mark.parametrize(
    ("fmt", "writer", "mapping", "match"),
    [
        ("csv", write_ulb, None, "unknown dataset format 'csv'"),
        ("sparkov", write_ulb, None, "missing column\\(s\\) trans_date_trans_time"),
        ("ulb", write_sparkov, None, "missing column\\(s\\) Time, Amount"),
        ("table", write_table, {"card_id": "card"}, "needs --map entries for time, amount"),
        ("table", write_table, {"card_id": "nope", "time": "ts", "amount": "value"}, "missing column\\(s\\) nope"),
    ],
)
def test_wrong_format_or_columns_are_clear_errors(tmp_path, fmt, writer, mapping, match):
    path = writer(tmp_path / "f.csv")
    with pytest.raises(DataFormatError, match=match):
        read_dataset(fmt, path, mapping=mapping)


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(DataFormatError, match="does not exist"):
        read_dataset("ulb", tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="empty"):
        read_dataset("ulb", tmp_path / "empty.csv")


def test_parse_mapping():
    assert parse_mapping("card_id=cc, time=ts,x_v=V") == {"card_id": "cc", "time": "ts", "x_v": "V"}
    with pytest.raises(DataFormatError, match="not field=column"):
        parse_mapping("card_id")
    with pytest.raises(DataFormatError, match="unknown"):
        parse_mapping("colour=red")
