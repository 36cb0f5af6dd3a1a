"""Parquet files: dictionaries only for the columns that repeat, the same table read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.parquet import ParquetSink, dictionary_columns
from tests.unit.records.test_convert_json import frame


def _encodings(path: Path) -> dict[str, set[str]]:
    meta = pq.ParquetFile(path).metadata
    group = meta.row_group(0)
    return {group.column(i).path_in_schema: set(group.column(i).encodings) for i in range(meta.num_columns)}


def test_only_repeating_text_columns_are_dictionary_encoded_and_the_table_reads_back(tmp_path: Path) -> None:
    f = pd.concat([frame()] * 8, ignore_index=True)
    f["transaction_id"] = [f"t{i}" for i in range(len(f))]
    batch = PredictionBatch.of(f)
    sink = ParquetSink(tmp_path)
    sink.setup()
    sink.write(batch, batch_id="b1")
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == 1
    chosen = dictionary_columns(batch.table.schema)
    assert {"merchant_category", "decision", "model_version", "rule_ids.list.element"} <= set(chosen)
    assert not any(c.split(".")[0].endswith("_id") for c in chosen)
    enc = _encodings(files[0])
    assert {path for path, e in enc.items() if any("DICTIONARY" in x for x in e)} == set(chosen)
    back = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table().drop_columns(["event_date"])
    assert back.schema == batch.table.schema
    assert back.equals(batch.table)
