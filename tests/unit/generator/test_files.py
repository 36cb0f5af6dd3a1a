"""Generated files: Parquet with the frame columns, JSON Lines of valid transactions, never half-written."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from fraudguard.errors import DataFormatError
from fraudguard.generator import GeneratorConfig, TransactionGenerator
from fraudguard.generator.files import write_transactions
from fraudguard.schema import FRAME_COLUMNS, decode_transaction


def _chunks(n: int = 3_000):
    return TransactionGenerator(
        GeneratorConfig(fraud_rate=0.05, seed=5, customers=500, merchants=200, chunk_size=1_000)
    ).chunks(n)


def test_parquet_holds_the_frame_columns(tmp_path):
    path = tmp_path / "tx.parquet"
    assert write_transactions(_chunks(), path) == 3_000
    table = pq.read_table(path)
    assert tuple(table.column_names) == FRAME_COLUMNS
    frame = table.to_pandas()
    assert frame["event_time"].is_monotonic_increasing
    assert frame["is_fraud"].mean() == pytest.approx(0.05, abs=0.005)
    assert list(tmp_path.iterdir()) == [path]


def test_jsonl_lines_are_valid_transactions(tmp_path):
    path = tmp_path / "tx.jsonl"
    write_transactions(_chunks(), path)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3_000
    txs = [decode_transaction(line) for line in lines]
    assert len({t.transaction_id for t in txs}) == 3_000


def test_a_failure_midway_leaves_no_file(tmp_path):
    def failing():
        yield from _chunks(1_000)
        raise RuntimeError("boom")

    path = tmp_path / "tx.parquet"
    with pytest.raises(RuntimeError):
        write_transactions(failing(), path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(DataFormatError, match=r"\.parquet or \.jsonl"):
        write_transactions(_chunks(), tmp_path / "tx.csv")
    assert list(tmp_path.iterdir()) == []
