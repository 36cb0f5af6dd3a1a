"""The engine's transaction history, read in event-time order a slice at a time (retraining's input).

The engine writes one Parquet file per batch and event date (``event_date=<day>/part-<batch>.parquet``),
so files overlap in time only by a batch's span and its late rows. Each file's event-time
range comes from its footer statistics; files are read in order of their first event, and
rows are released once no unread file can hold an earlier one (every unread file starts
later). The slices therefore come out in exact event-time order, and memory holds one slice
plus the rows of the files overlapping it, never the whole history.

Ties in event time keep the order of the dataset's file listing (what a whole-history read
gives). A transaction written twice (a batch replayed under another batch id) has one event
time, so both copies always fall in the same slice; the last in file order is kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from fraudguard.errors import DataFormatError
from fraudguard.schema import EXTRA_PREFIX

_ORDER = "__file_order"
_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class HistoryFile:
    """One Parquet file of the history: its place in the listing, size, event-time range, columns."""

    path: str
    order: int
    rows: int
    first_us: int
    last_us: int
    columns: frozenset[str]


def _time_range(path: str, md: pq.FileMetaData) -> tuple[int, int]:
    """``(min, max)`` event time in µs from the footer, or from the column when statistics are missing."""
    j = md.schema.names.index("event_time")
    lo, hi = [], []
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(j).statistics
        if st is None or not st.has_min_max:
            col = pq.read_table(path, columns=["event_time"])["event_time"].cast(_TIME)
            values = col.cast(pa.int64()).to_numpy()
            return int(values.min()), int(values.max())
        lo.append(pd.Timestamp(st.min).value // 1000)  # floor to µs: the bound stays below the value
        hi.append(-(-pd.Timestamp(st.max).value // 1000))
    return min(lo), max(hi)


class History:
    """The files under ``root`` (hive-partitioned by ``event_date``), ordered for event-time reading.

    Parameters
    ----------
    root
        ``<state_dir>/parquet/transactions``.
    slice_rows
        Rows gathered before a slice is released (more when files overlap).
    """

    def __init__(self, root: Path, *, slice_rows: int = 250_000) -> None:
        if not root.is_dir() or not any(root.rglob("*.parquet")):
            raise DataFormatError(f"$: no transaction history in {root} (run the engine first: `fraudguard stream`)")
        self.slice_rows = slice_rows
        files, schemas = [], []
        for order, path in enumerate(ds.dataset(root, format="parquet", partitioning="hive").files):
            md = pq.read_metadata(path)
            if md.num_rows == 0:
                continue
            schema = md.schema.to_arrow_schema()
            schemas.append(schema)
            first, last = _time_range(path, md)
            files.append(HistoryFile(path, order, md.num_rows, first, last, frozenset(schema.names)))
        if not files:
            raise DataFormatError(f"$: no transaction history in {root} (every file is empty)")
        self.files = sorted(files, key=lambda f: (f.first_us, f.order))
        self.schema = pa.unify_schemas(schemas)
        self.peak_rows = 0
        """Most rows held at once by :meth:`slices` (one slice plus what overlaps it)."""

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    @property
    def extras(self) -> list[str]:
        return [c for c in self.schema.names if c.startswith(EXTRA_PREFIX)]

    @property
    def newest(self) -> pd.Timestamp:
        return pd.Timestamp(max(f.last_us for f in self.files) * 1000, tz="UTC")

    def _read(self, f: HistoryFile, columns: Sequence[str]) -> pa.Table:
        present = [c for c in columns if c in f.columns]
        table = pq.ParquetFile(f.path).read(columns=present)
        arrays = [table[c] if c in f.columns else pa.nulls(table.num_rows, self.schema.field(c).type) for c in columns]
        arrays = [a.cast(self.schema.field(c).type) for a, c in zip(arrays, columns, strict=True)]
        arrays.append(pa.array(np.full(table.num_rows, f.order, dtype=np.int64)))
        return pa.Table.from_arrays(arrays, names=[*columns, _ORDER])

    def slices(self, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        """``columns`` of every transaction once, as frames in event-time order (``event_time`` always included)."""
        columns = list(dict.fromkeys(["event_time", "transaction_id", *columns]))
        unknown = [c for c in columns if c not in self.schema.names]
        if unknown:
            raise DataFormatError(f"{unknown[0]}: not a column of the transaction history")
        pending: list[pa.Table] = []
        held = 0
        for i, f in enumerate(self.files):
            pending.append(self._read(f, columns))
            held += f.rows
            self.peak_rows = max(self.peak_rows, held)
            following = self.files[i + 1].first_us if i + 1 < len(self.files) else None
            if following is not None and held < self.slice_rows:
                continue
            table = pa.concat_tables(pending)
            if following is None:
                out, pending, held = table, [], 0
            else:
                early = pc.less(table["event_time"].cast(pa.int64()), pa.scalar(following, pa.int64()))
                out, rest = table.filter(early), table.filter(pc.invert(early))
                pending, held = ([rest] if rest.num_rows else []), rest.num_rows
            if out.num_rows:
                yield _ordered_frame(out)


def _ordered_frame(table: pa.Table) -> pd.DataFrame:
    """Rows in listing order, duplicates dropped (last kept), then stably sorted by event time."""
    order = np.argsort(table[_ORDER].to_numpy(), kind="stable")
    frame = table.drop_columns([_ORDER]).take(pa.array(order)).to_pandas()
    frame = frame.drop_duplicates("transaction_id", keep="last")
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True).dt.as_unit("ns")
    return frame.iloc[np.argsort(frame["event_time"].to_numpy(), kind="stable")].reset_index(drop=True)
