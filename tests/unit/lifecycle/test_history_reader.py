"""The history reader: exact event-time order, each transaction once, a bounded number of rows at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from fraudguard.bench.retrain import write_history
from fraudguard.errors import DataFormatError
from fraudguard.io.history import History


def whole_history(root: Path) -> pd.DataFrame:
    """The in-memory reading: every file at once, the last copy of a transaction kept, sorted by event time."""
    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    frame = table.drop_columns(["event_date"]).to_pandas().drop_duplicates("transaction_id", keep="last")
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True).dt.as_unit("ns")
    return frame.sort_values("event_time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history") / "transactions"
    info = write_history(
        root, 12_000, seed=5, customers=1_000, merchants=100, batch_rows=300, late_share=0.05, replay_every=7
    )
    assert info["replayed_rows"] > 0 and info["files"] > 40
    return root


def test_slices_give_the_whole_history_in_order_once(history_dir: Path) -> None:
    history = History(history_dir, slice_rows=1_000)
    expected = whole_history(history_dir)
    assert history.rows > len(expected) == 12_000  # replayed rows are in two files, read once
    got = pd.concat(list(history.slices(history.columns)), ignore_index=True)
    pd.testing.assert_frame_equal(got[expected.columns], expected)
    assert history.newest == expected["event_time"].max()
    assert history.extras == []


def test_rows_held_at_once_do_not_grow_with_the_history(history_dir: Path) -> None:
    history = History(history_dir, slice_rows=1_000)
    sizes = [len(s) for s in history.slices(["is_fraud"])]
    assert sum(sizes) == 12_000 and len(sizes) > 8
    assert history.peak_rows < 2_500  # one slice plus the files overlapping it, of 12,000+ rows


def test_files_listed_in_any_order_and_overlapping_still_come_out_sorted(tmp_path: Path) -> None:
    from fraudguard.generator import generate_frame
    from fraudguard.generator.columns import Columns
    from fraudguard.io.parquet_sink import ParquetSink

    frame = generate_frame(3_000, seed=9, customers=300, merchants=50)
    rng = np.random.default_rng(1)
    sink = ParquetSink(tmp_path / "tx")
    # names unrelated to time; every file spans a random subset, so all of them overlap
    for i, part in enumerate(np.array_split(rng.permutation(len(frame)), 10)):
        sink.write_by_event_date(Columns.from_frame(frame.iloc[part]).to_arrow(), f"part-{rng.integers(1e9)}-{i}")
    history = History(tmp_path / "tx", slice_rows=100)
    got = pd.concat(list(history.slices(["amount"])), ignore_index=True)
    assert got["event_time"].is_monotonic_increasing and got["transaction_id"].is_unique and len(got) == 3_000


def test_no_history_or_an_unknown_column_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no transaction history"):
        History(tmp_path / "missing")
    write_history(tmp_path / "one", 200, customers=50, merchants=20)
    with pytest.raises(DataFormatError, match="not a column"):
        next(History(tmp_path / "one").slices(["nope"]))
