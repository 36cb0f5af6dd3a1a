"""Read public fraud datasets (ULB, Sparkov) and mapped tables into transaction frames.

Files are read in Arrow record batches (CSV with a streaming reader, Parquet by row
group), every column converted once per batch, and each row checked against the same
rules as :func:`fraudguard.schema.decode_transaction`. A bad row never stops the read:
it is counted under the first reason it fails, and :class:`BadRows` summarises them.

Stable entry point: :func:`read_dataset` (the training CLI calls it).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fraudguard.errors import DataFormatError
from fraudguard.generator.columns import Columns
from fraudguard.schema import CHANNELS, MAX_AMOUNT, MAX_EVENT_TIME, MAX_EXTRAS, MIN_EVENT_TIME

FORMATS: tuple[str, ...] = ("ulb", "sparkov", "table")
BATCH_BYTES = 16 << 20
_CURRENCY = re.compile(r"[A-Z]{3}")
_MIN_US = int(MIN_EVENT_TIME.timestamp() * 1_000_000)
_MAX_US = int(MAX_EVENT_TIME.timestamp() * 1_000_000)


@dataclass
class BadRows:
    """Rows left out of a dataset, counted by the first reason each one failed."""

    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    """Up to ten ``row N: reason`` lines (N counts data rows from 0; CSV line numbers for malformed lines)."""

    @property
    def count(self) -> int:
        """Number of rows left out, over every reason."""
        return sum(self.reasons.values())

    def add(self, reason: str, n: int = 1, where: str | None = None) -> None:
        """Count ``n`` rows left out for ``reason``; keep ``where`` as an example if there is room."""
        self.reasons[reason] += n
        if where is not None and len(self.examples) < 10:
            self.examples.append(f"{where}: {reason}")

    def summary(self) -> str:
        """One line: total and the reasons, most frequent first."""
        if not self.count:
            return "no bad rows"
        parts = ", ".join(f"{r} ({n:,})" for r, n in self.reasons.most_common())
        return f"{self.count:,} bad rows: {parts}"


def read_dataset(
    format: str, path: str | Path, mapping: dict[str, str] | None = None, start: datetime | None = None
) -> tuple[pd.DataFrame, BadRows]:
    """Read ``path`` as ``format`` (ulb, sparkov, table) into a transaction frame sorted by time.

    The frame has :data:`fraudguard.schema.FRAME_COLUMNS` plus ``x_<name>`` extras (ULB's
    V1..V28). ``mapping`` (table format) maps schema fields to the file's columns;
    ``start`` anchors relative times (ULB's ``Time``, numeric table times). Raises
    :class:`DataFormatError` for an unknown format, a missing file or missing columns;
    bad rows are skipped and reported in the returned :class:`BadRows`.
    """
    cols, bad = read_columns(format, path, mapping, start)
    return cols.to_frame(), bad


def check_input(format: str, path: str | Path) -> Path:
    """Refuse an unknown format or a missing file before any work; returns the path.

    Callers that connect to a broker first (replay) call it early so a typo costs nothing.
    """
    if format not in FORMATS:
        raise DataFormatError(f"unknown dataset format {format!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"input file {path} does not exist")
    return path


def read_columns(
    format: str, path: str | Path, mapping: dict[str, str] | None = None, start: datetime | None = None
) -> tuple[Columns, BadRows]:
    """Like :func:`read_dataset` but returns :class:`Columns` (what replay encodes)."""
    from fraudguard.generator import dataset_formats as fmts

    path = check_input(format, path)
    bad = BadRows()
    batches = _batches(path, bad)
    header = _header(path)
    mapper = fmts.mapper_for(format, header, path, mapping, start)
    parts: list[Columns] = []
    row = 0
    for batch in batches:
        data, extras = mapper(batch, row)
        parts.append(validate(data, extras, bad, row))
        row += batch.num_rows
    cols = concat(parts) if parts else validate(*mapper(_empty_batch(header), 0), bad, 0)
    order = np.argsort(cols.data["event_time"], kind="stable")
    return cols.take(order), bad


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _header(path: Path) -> list[str]:
    if _is_parquet(path):
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as e:
            raise DataFormatError(f"{path} is not a readable Parquet file: {e}") from e
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        first = next(csv.reader(f), None)
    if not first:
        raise DataFormatError(f"{path} is empty: expected a CSV header line")
    return first


def _empty_batch(header: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({h: pa.array([], pa.string()) for h in header})


def _batches(path: Path, bad: BadRows) -> Iterator[pa.RecordBatch]:
    """Record batches of ``path``; CSV columns all as text, malformed lines counted and skipped."""
    if _is_parquet(path):
        try:
            yield from pq.ParquetFile(path).iter_batches(batch_size=200_000)
        except (pa.ArrowException, OSError) as e:
            raise DataFormatError(f"{path} is not a readable Parquet file: {e}") from e
        return
    header = _header(path)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        where = f"line {row.number}" if row.number is not None else None
        bad.add(f"malformed CSV line (expected {row.expected_columns} fields, got {row.actual_columns})", where=where)
        return "skip"

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=BATCH_BYTES, use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=False
            ),
        )
        yield from reader
    except pa.ArrowInvalid as e:
        raise DataFormatError(f"{path} is not a readable CSV file: {e}") from e


def concat(parts: list[Columns]) -> Columns:
    """Rows of every part, in order (extras missing from a part are NaN there)."""
    names = list(dict.fromkeys(k for p in parts for k in p.extras))
    data = {k: np.concatenate([p.data[k] for p in parts]) for k in parts[0].data}
    extras = {k: np.concatenate([p.extras.get(k, np.full(len(p), np.nan)) for p in parts]) for k in names}
    return Columns(data, extras)


def _per_unique(values: np.ndarray, test: Callable[[object], bool]) -> np.ndarray:
    """``test`` applied once per distinct value (ids are few per card, categories fewer)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.array([test(u) for u in uniques], dtype=bool)[codes] if len(values) else np.zeros(0, dtype=bool)


def _too_long(values: np.ndarray, limit: int) -> np.ndarray:
    return np.fromiter((x is not None and len(x) > limit for x in values.tolist()), dtype=bool, count=len(values))


def _missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(values) | (values == "")


def validate(data: dict[str, np.ndarray], extras: dict[str, np.ndarray], bad: BadRows, row0: int) -> Columns:
    """Keep the rows that satisfy the transaction schema; count the rest in ``bad``."""
    n = len(data["event_time"])
    reason = np.full(n, None, dtype=object)
    failed = np.zeros(n, dtype=bool)

    def check(mask: np.ndarray, why: str) -> None:
        new = mask & ~failed
        if new.any():
            reason[new] = why
            failed[new] = True

    for name in ("transaction_id", "card_id", "merchant_id"):
        check(_missing(data[name]), f"missing {name}")
        check(_too_long(data[name], 128), f"{name} longer than 128 characters")
    t = data["event_time"]
    nat = t == np.iinfo(np.int64).min
    check(nat, "time not parseable")
    check(~nat & ((t < _MIN_US) | (t >= _MAX_US)), "time outside 2000-2100")
    amount = data["amount"]
    check(np.isnan(amount), "amount not a number")
    check(~np.isfinite(amount) | (amount < 0) | (amount > MAX_AMOUNT), f"amount outside [0, {MAX_AMOUNT:,.0f}]")
    label = data["is_fraud"]
    check(np.isinf(label) | (~np.isnan(label) & (label != 0) & (label != 1)), "label not 0 or 1")
    for lat, lon in (("customer_lat", "customer_lon"), ("merchant_lat", "merchant_lon")):
        check(np.abs(data[lat]) > 90, f"{lat} outside [-90, 90]")
        check(np.abs(data[lon]) > 180, f"{lon} outside [-180, 180]")
        half = np.isnan(data[lat]) | np.isnan(data[lon])
        if half.any():  # a lone coordinate is no location
            data[lat] = np.where(half, np.nan, data[lat])
            data[lon] = np.where(half, np.nan, data[lon])
    check(_per_unique(data["channel"], lambda v: v not in CHANNELS), f"channel not one of {', '.join(CHANNELS)}")
    check(
        _per_unique(data["currency"], lambda v: not (isinstance(v, str) and _CURRENCY.fullmatch(v))),
        "currency not a 3-letter code",
    )
    check(
        _per_unique(data["merchant_category"], lambda v: not (isinstance(v, str) and 0 < len(v) <= 64)),
        "merchant_category empty or longer than 64",
    )
    if len(extras) > MAX_EXTRAS:
        raise DataFormatError(f"at most {MAX_EXTRAS} extra features, got {len(extras)}")
    for name, values in extras.items():
        check(np.isnan(values), f"{name} not a number")
        check(np.isinf(values), f"{name} not finite")
    bad_idx = np.flatnonzero(failed)
    if len(bad_idx):
        counts = pd.Series(reason[bad_idx]).value_counts()
        for why, k in counts.items():
            bad.add(str(why), int(k))
        for i in bad_idx[: max(0, 10 - len(bad.examples))]:
            bad.examples.append(f"row {row0 + i}: {reason[i]}")
    return Columns(data, extras).take(~failed) if len(bad_idx) else Columns(data, extras)
