"""How each dataset's own columns become transaction fields (one Arrow batch at a time).

ULB (Kaggle "creditcardfraud", 2013 European cardholders): ``Time`` is seconds from the
first transaction, ``V1..V28`` are PCA components (kept as extras), ``Amount``, ``Class``.
It has no card or merchant, so each row gets its own synthetic card ``ulb-card-<row>``
(row = data row number from 0): honest, because nothing links two ULB rows, and it keeps
per-card velocity features from inventing histories. Merchant is ``ulb-unknown``.

Sparkov (Kaggle "fraudTrain/fraudTest", simulated US cardholders): ``cc_num`` is the
card and the customer, ``trans_num`` the transaction id, ``trans_date_trans_time`` the
time (read as UTC), and ``category`` maps onto a schema category plus a channel
(``*_net`` online, ``*_pos`` in person). Names, street, job and birth date are dropped.

Table: any CSV or Parquet with ``--map field=column`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudguard.errors import DataFormatError

Mapped = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
Mapper = Callable[[pa.RecordBatch, int], Mapped]

ULB_START = datetime(2013, 9, 1, tzinfo=UTC)
"""ULB's transactions were made in September 2013; its ``Time`` counts from this start by default."""
SPARKOV_CATEGORIES: dict[str, tuple[str, str]] = {
    "grocery_pos": ("grocery", "pos"),
    "grocery_net": ("grocery", "online"),
    "gas_transport": ("fuel", "pos"),
    "shopping_pos": ("retail", "pos"),
    "shopping_net": ("retail", "online"),
    "misc_pos": ("other", "pos"),
    "misc_net": ("other", "online"),
    "food_dining": ("restaurant", "pos"),
    "entertainment": ("entertainment", "pos"),
    "health_fitness": ("health", "pos"),
    "personal_care": ("health", "pos"),
    "travel": ("travel", "pos"),
    "kids_pets": ("retail", "pos"),
    "home": ("retail", "pos"),
}
TABLE_FIELDS: tuple[str, ...] = (
    "transaction_id", "card_id", "time", "amount", "merchant_id", "label", "customer_id", "merchant_category",
    "channel", "card_present", "currency", "customer_lat", "customer_lon", "merchant_lat", "merchant_lon",
    "device_id", "fraud_scenario",
)  # fmt: skip
_TRUE = {"1", "1.0", "true", "t", "yes", "y", "fraud"}
_FALSE = {"0", "0.0", "false", "f", "no", "n", "legit"}


def num(batch: pa.RecordBatch, col: str) -> np.ndarray:
    """A column as float64, NaN where missing or not a number."""
    arr = batch.column(col)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    try:
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(arr.to_pandas(), errors="coerce").to_numpy(dtype=np.float64)


def text(batch: pa.RecordBatch, col: str) -> np.ndarray:
    """A column as an object array of stripped strings, None where missing or blank."""
    arr = pc.utf8_trim_whitespace(batch.column(col).cast(pa.string()))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def label(batch: pa.RecordBatch, col: str) -> np.ndarray:
    """0/1 labels (also true/false, yes/no); 2.0 marks an unreadable label so validation rejects it."""
    s = pd.Series(text(batch, col), dtype=object).str.lower()
    return np.select([s.isin(_TRUE), s.isin(_FALSE), s.isna()], [1.0, 0.0, np.nan], 2.0)


def times(batch: pa.RecordBatch, col: str, start: datetime | None) -> np.ndarray:
    """Microseconds since the epoch: ISO text, epoch seconds, or seconds after ``start``.

    Unparseable values become the int64 minimum (NaT) and are rejected by validation.
    """
    arr = batch.column(col)
    nat = np.iinfo(np.int64).min
    if pa.types.is_timestamp(arr.type):
        ts = pd.to_datetime(arr.to_pandas(), utc=True)
        return ts.dt.as_unit("us").array.asi8
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        values = num(batch, col)
        if np.isnan(values).all() and len(values):  # text times
            ts = pd.to_datetime(pd.Series(text(batch, col), dtype=object), utc=True, errors="coerce", format="ISO8601")
            return ts.dt.as_unit("us").array.asi8
    else:
        values = num(batch, col)
    base = 0.0 if start is None else start.timestamp()
    secs = base + values
    ok = np.isfinite(secs) & (np.abs(secs) < 1e13)
    return np.where(ok, np.round(np.where(ok, secs, 0.0) * 1e6), nat).astype(np.int64)


def _require(header: list[str], needed: list[str], path: Path, what: str) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataFormatError(f"{path} is not a {what} file: missing column(s) {', '.join(missing)}")


def _full(n: int, value: object) -> np.ndarray:
    return np.full(n, value, dtype=object)


def _ulb(header: list[str], path: Path, start: datetime | None) -> Mapper:
    _require(header, ["Time", "Amount"], path, "ULB credit-card")
    v_cols = [c for c in header if c.startswith("V") and c[1:].isdigit()]
    origin = start or ULB_START

    def mapper(batch: pa.RecordBatch, row0: int) -> Mapped:
        n = batch.num_rows
        rows = range(row0, row0 + n)
        nan = np.full(n, np.nan)
        data = {
            "transaction_id": np.array([f"ulb-{i}" for i in rows], dtype=object),
            "card_id": np.array([f"ulb-card-{i}" for i in rows], dtype=object),
            "customer_id": _full(n, None),
            "event_time": times(batch, "Time", origin),
            "amount": num(batch, "Amount"),
            "currency": _full(n, "EUR"),
            "merchant_id": _full(n, "ulb-unknown"),
            "merchant_category": _full(n, "other"),
            "channel": _full(n, "pos"),
            "card_present": np.ones(n, dtype=bool),
            "customer_lat": nan, "customer_lon": nan, "merchant_lat": nan, "merchant_lon": nan,
            "device_id": _full(n, None),
            "is_fraud": label(batch, "Class") if "Class" in header else nan,
            "fraud_scenario": _full(n, None),
        }  # fmt: skip
        return data, {c: num(batch, c) for c in v_cols}

    return mapper


def _sparkov(header: list[str], path: Path) -> Mapper:
    _require(header, ["trans_date_trans_time", "cc_num", "merchant", "category", "amt", "is_fraud"], path, "Sparkov")
    cats = pd.Series({k: v[0] for k, v in SPARKOV_CATEGORIES.items()})
    chans = pd.Series({k: v[1] for k, v in SPARKOV_CATEGORIES.items()})

    def opt(batch: pa.RecordBatch, col: str) -> np.ndarray:
        return num(batch, col) if col in header else np.full(batch.num_rows, np.nan)

    def mapper(batch: pa.RecordBatch, row0: int) -> Mapped:
        n = batch.num_rows
        card = text(batch, "cc_num")
        card = np.array([c[:-2] if c and c.endswith(".0") else c for c in card], dtype=object)  # Parquet floats
        category = pd.Series(text(batch, "category"), dtype=object)
        channel = category.map(chans).fillna("pos").to_numpy(dtype=object)
        tx = (
            text(batch, "trans_num")
            if "trans_num" in header
            else np.array([f"sparkov-{i}" for i in range(row0, row0 + n)], dtype=object)
        )
        data = {
            "transaction_id": tx,
            "card_id": card,
            "customer_id": card.copy(),
            "event_time": times(batch, "trans_date_trans_time", None),
            "amount": num(batch, "amt"),
            "currency": _full(n, "USD"),
            "merchant_id": text(batch, "merchant"),
            "merchant_category": category.map(cats).fillna("other").to_numpy(dtype=object),
            "channel": channel,
            "card_present": channel != "online",
            "customer_lat": opt(batch, "lat"), "customer_lon": opt(batch, "long"),
            "merchant_lat": opt(batch, "merch_lat"), "merchant_lon": opt(batch, "merch_long"),
            "device_id": _full(n, None),
            "is_fraud": label(batch, "is_fraud"),
            "fraud_scenario": _full(n, None),
        }  # fmt: skip
        extras = {"city_pop": num(batch, "city_pop")} if "city_pop" in header else {}
        return data, extras

    return mapper


def parse_mapping(spec: str | None) -> dict[str, str]:
    """``"card_id=cc,time=ts"`` -> ``{"card_id": "cc", "time": "ts"}``; :class:`DataFormatError` if malformed."""
    out: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        key, sep, col = part.partition("=")
        key, col = key.strip(), col.strip()
        if not sep or not key or not col:
            raise DataFormatError(f"--map entry {part.strip()!r} is not field=column")
        if key not in TABLE_FIELDS and not key.startswith("x_"):
            raise DataFormatError(f"--map field {key!r} unknown: use {', '.join(TABLE_FIELDS)} or x_<name> for extras")
        out[key] = col
    return out


def _table(header: list[str], path: Path, mapping: dict[str, str] | None, start: datetime | None) -> Mapper:
    m = dict(mapping or {})
    missing = [f for f in ("card_id", "time", "amount") if f not in m]
    if missing:
        raise DataFormatError(
            f"--format table needs --map entries for {', '.join(missing)} (e.g. --map card_id=COL,time=COL,amount=COL)"
        )
    _require(header, list(m.values()), path, "mapped table (see --map)")

    def mapper(batch: pa.RecordBatch, row0: int) -> Mapped:
        n = batch.num_rows

        def txt(field: str, default: object) -> np.ndarray:
            return text(batch, m[field]) if field in m else _full(n, default)

        def flt(field: str) -> np.ndarray:
            return num(batch, m[field]) if field in m else np.full(n, np.nan)

        channel = txt("channel", "pos")
        channel = np.where(pd.isna(channel), "pos", pd.Series(channel, dtype=object).str.lower()).astype(object)
        present = label(batch, m["card_present"]) if "card_present" in m else np.where(channel == "online", 0.0, 1.0)
        default_ids = np.array([f"row-{i}" for i in range(row0, row0 + n)], dtype=object)
        data = {
            "transaction_id": text(batch, m["transaction_id"]) if "transaction_id" in m else default_ids,
            "card_id": text(batch, m["card_id"]),
            "customer_id": txt("customer_id", None),
            "event_time": times(batch, m["time"], start),
            "amount": num(batch, m["amount"]),
            "currency": txt("currency", "USD"),
            "merchant_id": txt("merchant_id", "unknown"),
            "merchant_category": txt("merchant_category", "other"),
            "channel": channel,
            "card_present": present != 0.0,
            "customer_lat": flt("customer_lat"), "customer_lon": flt("customer_lon"),
            "merchant_lat": flt("merchant_lat"), "merchant_lon": flt("merchant_lon"),
            "device_id": txt("device_id", None),
            "is_fraud": label(batch, m["label"]) if "label" in m else np.full(n, np.nan),
            "fraud_scenario": txt("fraud_scenario", None),
        }  # fmt: skip
        extras = {k[2:]: num(batch, c) for k, c in m.items() if k.startswith("x_")}
        return data, extras

    return mapper


def mapper_for(
    format: str, header: list[str], path: Path, mapping: dict[str, str] | None, start: datetime | None
) -> Mapper:
    """The batch mapper of ``format`` after checking the file has the columns it needs."""
    if format == "ulb":
        return _ulb(header, path, start)
    if format == "sparkov":
        return _sparkov(header, path)
    return _table(header, path, mapping, start)
