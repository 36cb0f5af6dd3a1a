"""Pieces of the Spark engine that run without a SparkSession: offsets, parsing, DLQ rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("pyspark")

from fraudguard import schema
from fraudguard.admission import AdmissionPolicy
from fraudguard.engines.spark.parse import EMPTY_REASON, PARSED_COLUMNS, TRANSACTION_DDL, parse_frame, spark_ddl
from fraudguard.engines.spark.query import parse_trigger
from fraudguard.engines.spark.run import progress_line
from fraudguard.engines.spark.writer import dead_letters
from fraudguard.errors import BrokerError, ConfigError
from fraudguard.io.spark_kafka_source import KafkaStreamReader, split_limit

GOOD = (
    b'{"transaction_id":"t1","card_id":"c1","event_time":"2026-01-01T00:00:00Z","amount":12.5,'
    b'"merchant_id":"m1","extras":{"V1":0.5}}'
)


def kafka_batch(values: list[bytes | None]) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "key": [f"k{i}".encode() for i in range(n)],
            "value": values,
            "topic": ["tx"] * n,
            "partition": np.arange(n, dtype=np.int32) % 2,
            "offset": np.arange(100, 100 + n, dtype=np.int64),
            "timestamp": pd.to_datetime(np.arange(n) + 1_700_000_000, unit="s", utc=True),
        }
    )


@pytest.mark.parametrize(
    ("available", "limit"),
    [({0: 10, 1: 10}, 5), ({0: 100, 1: 1, 2: 0}, 30), ({0: 3, 1: 4}, 100), ({0: 7}, 1), ({0: 0, 1: 0}, 10)],
)
def test_split_limit_never_exceeds_the_limit_nor_what_is_available(available: dict[int, int], limit: int) -> None:
    take = split_limit(available, limit)
    assert sum(take.values()) == min(limit, sum(available.values()))
    assert all(0 <= take[p] <= available[p] for p in available)


def test_split_limit_shares_fairly() -> None:
    assert split_limit({0: 100, 1: 100}, 10) == {0: 5, 1: 5}
    assert split_limit({0: 100, 1: 2}, 10) == {0: 8, 1: 2}


def test_reader_options_are_checked_and_case_insensitive() -> None:
    from pyspark.sql import types as T

    schema_ = T.StructType(
        [
            T.StructField("key", T.BinaryType()),
            T.StructField("value", T.BinaryType()),
            T.StructField("topic", T.StringType()),
            T.StructField("partition", T.IntegerType()),
            T.StructField("offset", T.LongType()),
            T.StructField("timestamp", T.TimestampType()),
        ]
    )
    r = KafkaStreamReader(schema_, {"kafka.bootstrap.servers": "h:1", "subscribe": "t", "maxOffsetsPerTrigger": "7"})
    assert r.max_offsets == 7 and r.starting == "earliest"
    assert r.partitions({"t": {"0": 5, "1": 9}}, {"t": {"0": 8, "1": 9}})[0].value == ("t", 0, 5, 8)
    with pytest.raises(BrokerError, match="subscribe"):
        KafkaStreamReader(schema_, {"kafka.bootstrap.servers": "h:1"})
    with pytest.raises(BrokerError, match="startingOffsets"):
        KafkaStreamReader(schema_, {"kafka.bootstrap.servers": "h:1", "subscribe": "t", "startingOffsets": "middle"})
    with pytest.raises(BrokerError, match="maxOffsetsPerTrigger"):
        KafkaStreamReader(schema_, {"kafka.bootstrap.servers": "h:1", "subscribe": "t", "maxOffsetsPerTrigger": "0"})


def test_parse_keeps_one_row_per_record_and_names_the_rejections() -> None:
    batch = kafka_batch([GOOD, None, b"{not json", b'{"transaction_id":"t2","amount":-1}'])
    out = parse_frame(batch)
    assert list(out.columns) == list(PARSED_COLUMNS)
    assert len(out) == 4 and sorted(out["src_offset"]) == [100, 101, 102, 103]
    good = out[out["error_field"].isna()]
    assert list(good["transaction_id"]) == ["t1"] and good["extras"].iloc[0] == {"V1": 0.5}
    assert good["produced_at"].iloc[0] == batch["timestamp"].iloc[0]
    bad = out[out["error_field"].notna()].set_index("src_offset")
    assert bad.loc[101, "error_reason"] == EMPTY_REASON
    assert bad.loc[102, "error_field"] == "$" and "malformed JSON" in bad.loc[102, "error_reason"]
    assert bad.loc[103, "raw_value"] == b'{"transaction_id":"t2","amount":-1}'
    assert bad["card_id"].isna().all() and bad["extras"].map(lambda v: v is None).all()


def test_rejected_rows_become_dead_letters_with_their_bytes_and_position() -> None:
    out = parse_frame(kafka_batch([GOOD, b"{not json"]))
    letters = dead_letters(out[out["error_field"].notna()])
    assert len(letters) == 1
    (letter,) = letters
    assert (letter.topic, letter.partition, letter.offset) == ("tx", 1, 101)
    assert letter.value == b"{not json" and letter.key == b"k1" and letter.field == "$"
    assert letter.timestamp_ms == 1_700_000_001_000


def test_frame_columns_of_the_parser_follow_the_schema() -> None:
    assert list(PARSED_COLUMNS[: len(schema.FRAME_COLUMNS)]) == list(schema.FRAME_COLUMNS)


def test_spark_ddl_is_derived_from_the_records_schemas() -> None:
    from fraudguard.engines.spark.score import PREDICTION_DDL

    def columns(ddl: str) -> dict[str, str]:
        return dict(part.split(" ", 1) for part in ddl.split(", "))

    parsed, predicted = columns(TRANSACTION_DDL), columns(PREDICTION_DDL)
    assert list(parsed) == [*schema.FRAME_COLUMNS, "extras", "produced_at"]
    assert list(predicted) == list(schema.PREDICTION_COLUMNS)
    assert parsed["event_time"] == parsed["produced_at"] == predicted["scored_at"] == "timestamp"
    assert parsed["card_present"] == "boolean" and parsed["extras"] == "map<string,double>"
    assert predicted["is_fraud"] == parsed["is_fraud"] == "double"  # frames carry the label as float64
    assert predicted["reasons"] == "array<string>" and predicted["score_xgboost"] == "double"
    assert spark_ddl(pa.schema([("n", pa.int64()), ("raw", pa.binary())])) == "n long, raw binary"


@pytest.mark.parametrize(
    ("text", "spark"), [("2s", "2000 milliseconds"), ("500ms", "500 milliseconds"), ("1 minute", "60000 milliseconds")]
)
def test_trigger_intervals(text: str, spark: str) -> None:
    assert parse_trigger(text) == spark


@pytest.mark.parametrize("text", ["soon", "0s", "-1s", "2 fortnights"])
def test_bad_trigger_names_itself(text: str) -> None:
    with pytest.raises(ConfigError, match="trigger"):
        parse_trigger(text)


def test_progress_line_reports_rates_and_duration() -> None:
    line = progress_line(
        {
            "batchId": 3,
            "numInputRows": 1200,
            "inputRowsPerSecond": 600.0,
            "processedRowsPerSecond": 800.0,
            "durationMs": {"triggerExecution": 1500},
            "stateOperators": [{"numRowsTotal": 10, "numRowsDroppedByWatermark": 2}, {"numRowsTotal": 5}],
        }
    )
    assert "batch 3" in line and "1,200 rows" in line and "800 rows/s" in line and "1.50s" in line
    assert "state rows 15" in line and "dropped late 2" in line


def test_a_batch_of_only_rejected_records_keeps_typed_null_columns() -> None:
    """All-NaN float columns cannot become Spark strings or timestamps: nulls keep their types."""
    out = parse_frame(kafka_batch([b"junk", b'{"amount": 3}']))
    assert len(out) == 2 and out["error_field"].notna().all()
    assert out["transaction_id"].dtype == object and out["transaction_id"].isna().all()
    assert isinstance(out["event_time"].dtype, pd.DatetimeTZDtype)
    assert out["extras"].map(lambda v: v is None).all()


def test_parse_applies_the_engines_admission_policy() -> None:
    """Issue 11: the Spark path refuses far-future events and bounds extras like the local engine."""
    many = {f"n{i}": float(i) for i in range(10)}
    wide = json.dumps({**json.loads(GOOD), "transaction_id": "t9", "extras": many}).encode()
    future = json.dumps({**json.loads(GOOD), "transaction_id": "t8", "event_time": "2099-01-01T00:00:00Z"}).encode()
    out = parse_frame(kafka_batch([wide, future]), AdmissionPolicy(max_skew_s=600.0, max_extras=3))
    good = out[out["error_field"].isna()]
    assert list(good["transaction_id"]) == ["t9"] and good["extras"].iloc[0] == {"n0": 0.0, "n1": 1.0, "n2": 2.0}
    bad = out[out["error_field"].notna()]
    assert list(bad["error_field"]) == ["event_time"] and "ahead of the wall clock" in bad["error_reason"].iloc[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda t: pd.Series(t.tz_localize(None)),  # naive UTC, as Spark hands it
        lambda t: pd.Series(t),  # already aware
        lambda t: pd.Series(t.tz_convert("Europe/Paris")),  # aware, another zone
        lambda t: pd.Series(list(t.tz_localize(None).to_pydatetime()), dtype=object),  # Python datetimes
    ],
    ids=["naive", "aware-utc", "aware-paris", "object"],
)
def test_spark_times_become_the_same_utc_instants(make) -> None:
    from fraudguard.engines.spark.times import utc

    t = pd.DatetimeIndex(["2026-01-01T00:00:00.123456Z", "2026-06-30T23:59:59Z", None], tz="UTC")
    out = utc(make(t))
    assert isinstance(out.dtype, pd.DatetimeTZDtype)
    assert out.isna().tolist() == [False, False, True]
    assert (out[:2].dt.tz_convert("UTC").to_numpy() == t[:2].to_numpy()).all()
