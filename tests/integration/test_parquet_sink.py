"""ParquetSink: hive partitions readable by pandas and DuckDB, replay overwrites, no partial files."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from fraudguard.errors import SinkError, ValidationError
from fraudguard.io.parquet_sink import ParquetSink, batch_file_stem
from fraudguard.io.sinks import Sink
from fraudguard.records import PREDICTION_SCHEMA
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration


@pytest.fixture
def sink(tmp_path: Path) -> ParquetSink:
    s = ParquetSink(tmp_path / "predictions")
    s.setup()
    return s


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_implements_the_sink_protocol(tmp_path: Path) -> None:
    assert isinstance(ParquetSink(tmp_path), Sink)


def test_one_file_per_event_date_named_after_the_batch(sink: ParquetSink) -> None:
    frame = prediction_frame(300, days=3)
    sink.write(frame, batch_id="transactions-0-100")
    sink.flush()
    dates = sorted(frame["event_time"].dt.strftime("%Y-%m-%d").unique())
    assert [p.relative_to(sink.root).as_posix() for p in files(sink.root)] == [
        f"event_date={d}/part-transactions-0-100.parquet" for d in dates
    ]
    assert pq.read_schema(files(sink.root)[0]) == PREDICTION_SCHEMA


def test_pandas_reads_back_every_row_and_value(sink: ParquetSink) -> None:
    frame = prediction_frame(500)
    sink.write(frame.iloc[:250], batch_id="b1")
    sink.write(frame.iloc[250:], batch_id="b2")
    back = pd.read_parquet(sink.root).sort_values("transaction_id").reset_index(drop=True)
    want = frame.sort_values("transaction_id").reset_index(drop=True)
    assert len(back) == 500
    assert back["event_date"].astype(str).tolist() == want["event_time"].dt.strftime("%Y-%m-%d").tolist()
    assert (back["event_time"] == want["event_time"]).all()
    assert back["amount"].tolist() == want["amount"].tolist()
    assert [list(r) for r in back["reasons"]] == [list(r) for r in want["reasons"]]
    assert back["is_fraud"].isna().tolist() == want["is_fraud"].isna().tolist()
    known = want["is_fraud"].notna()
    assert (back.loc[known, "is_fraud"].astype(bool) == (want.loc[known, "is_fraud"] == 1.0)).all()


def test_duckdb_reads_the_hive_partitions(sink: ParquetSink) -> None:
    frame = prediction_frame(400)
    sink.write(frame, batch_id="b")
    glob = str(sink.root / "**" / "*.parquet")
    con = duckdb.connect()
    n, days, alerts, reasons = con.execute(
        f"SELECT count(*), count(DISTINCT event_date), count(*) FILTER (WHERE decision = 'fraud'),"
        f" sum(len(reasons)) FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchone()
    assert n == 400 and days == frame["event_time"].dt.date.nunique()
    assert alerts == int((frame["decision"] == "fraud").sum())
    assert reasons == sum(len(r) for r in frame["reasons"])
    typ = con.execute(f"SELECT typeof(reasons), typeof(event_time) FROM read_parquet('{glob}') LIMIT 1").fetchone()
    assert typ == ("VARCHAR[]", "TIMESTAMP WITH TIME ZONE")


def test_replayed_batch_overwrites_its_files(sink: ParquetSink) -> None:
    frame = prediction_frame(200)
    sink.write(frame, batch_id="t-3-42")
    before = files(sink.root)
    sink.write(frame.assign(model_version="v2"), batch_id="t-3-42")
    assert files(sink.root) == before
    back = pd.read_parquet(sink.root)
    assert len(back) == 200 and set(back["model_version"]) == {"v2"}
    sink.write(frame, batch_id="t-3-242")  # a different batch adds files (readers dedupe on transaction_id)
    assert len(pd.read_parquet(sink.root)) == 400


def test_no_temporary_file_is_left_visible(sink: ParquetSink, tmp_path: Path) -> None:
    sink.write(prediction_frame(50), batch_id="b")
    assert not [p for p in files(sink.root) if p.name.startswith(".") or not p.name.endswith(".parquet")]


def test_failed_write_leaves_previous_file_and_no_temp(sink: ParquetSink) -> None:
    frame = prediction_frame(30, days=1)
    sink.write(frame, batch_id="b")
    before = {p: p.read_bytes() for p in files(sink.root)}
    sink.compression = "no-such-codec"
    with pytest.raises(SinkError, match="cannot write"):
        sink.write(frame.assign(model_version="v2"), batch_id="b")
    assert {p: p.read_bytes() for p in files(sink.root)} == before


def test_batch_ids_become_safe_distinct_file_names() -> None:
    assert batch_file_stem("topic-0-17") == "part-topic-0-17"
    odd = batch_file_stem("../../etc/passwd")
    assert "/" not in odd and odd.startswith("part-")
    assert batch_file_stem("a/b") != batch_file_stem("a:b")
    with pytest.raises(ValidationError, match="batch_id"):
        batch_file_stem("")


def test_bad_frames_are_refused_naming_the_column(sink: ParquetSink) -> None:
    frame = prediction_frame(3)
    with pytest.raises(ValidationError, match=r"^decision"):
        sink.write(frame.assign(decision="maybe"), batch_id="x")
    with pytest.raises(ValidationError, match=r"^reasons"):
        sink.write(frame.assign(reasons=[1, 2, 3]), batch_id="x")
    assert files(sink.root) == []


@pytest.mark.spark
def test_spark_reads_the_partitions(sink: ParquetSink, monkeypatch: pytest.MonkeyPatch) -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="pyspark is the optional 'spark' extra")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    frame = prediction_frame(300)
    sink.write(frame, batch_id="b1")
    sink.write(frame.iloc[:100], batch_id="b2")  # overlapping batch: readers dedupe on transaction_id
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        df = spark.read.parquet(str(sink.root))
        types = dict(df.dtypes)
        assert types["reasons"] == "array<string>" and types["event_date"] == "date"
        assert types["event_time"] == "timestamp" and types["is_fraud"] == "boolean"
        assert df.count() == 400
        assert df.dropDuplicates(["transaction_id"]).count() == 300
        first = df.filter("transaction_id = 'tx1'").first()
        assert first is not None and list(first["reasons"]) == list(frame["reasons"][1])
    finally:
        spark.stop()


def test_reused_prediction_table_is_built_once_and_only_inside_the_block() -> None:
    from fraudguard.io.parquet_sink import prediction_table, reuse_prediction_table

    frame = prediction_frame(20)
    with reuse_prediction_table(frame) as shared:
        assert prediction_table(frame) is shared
        assert prediction_table(frame.copy()) is not shared
    changed = frame.assign(amount=frame["amount"] + 1)
    frame["amount"] = changed["amount"]
    assert prediction_table(frame) is not shared
    assert prediction_table(frame)["amount"].to_pylist() == changed["amount"].tolist()
