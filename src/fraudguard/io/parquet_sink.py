"""The Arrow form of a prediction frame: :data:`PREDICTION_SCHEMA` and :func:`prediction_table`.

Both the Parquet sink (the file schema) and the PostgreSQL sink (the binary COPY input)
store this table, so they store the same types. The sinks themselves live in
:mod:`fraudguard.io.sinks`; this conversion stays here until ``records/`` takes it
(issue 12), which is why the module keeps its old name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudguard.errors import FraudGuardError, ValidationError
from fraudguard.frames import LIST_COLUMNS
from fraudguard.schema import MODEL_NAMES, PREDICTION_COLUMNS

UTC_US = pa.timestamp("us", tz="UTC")
"""Microseconds, not pandas' nanoseconds: Spark cannot read Parquet NANOS timestamps."""

PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("card_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string()),
        pa.field("event_time", UTC_US, nullable=False),
        pa.field("amount", pa.float64(), nullable=False),
        pa.field("merchant_id", pa.string(), nullable=False),
        pa.field("merchant_category", pa.string(), nullable=False),
        pa.field("channel", pa.string()),
        *(pa.field(f"score_{m}", pa.float64()) for m in MODEL_NAMES),
        pa.field("ensemble_score", pa.float64(), nullable=False),
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reasons", pa.list_(pa.string())),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("rule_ids", pa.list_(pa.string())),
        pa.field("rule_action", pa.string()),
        pa.field("shadow_rule_ids", pa.list_(pa.string())),
        pa.field("is_fraud", pa.bool_()),
        pa.field("fraud_scenario", pa.string()),
        pa.field("produced_at", UTC_US),
        pa.field("scored_at", UTC_US),
    ]
)
"""Arrow schema of a prediction frame: the Parquet file schema and the PostgreSQL COPY input."""

_DECISIONS = pa.array(["fraud", "legit"])
_ACTIONS = pa.array(["allow", "review", "block"])
_TIME_COLUMNS = ("event_time", "produced_at", "scored_at")


def time_array(series: pd.Series, column: str) -> pa.Array:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = series if str(dtype.tz) == "UTC" else series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        if series.notna().any():
            raise ValidationError(column, "timestamps must be time-zone aware (UTC), got naive datetime64")
        values = series.dt.tz_localize("UTC")
    else:
        try:
            values = pd.to_datetime(series, utc=True, cache=False)
        except (ValueError, TypeError) as e:
            raise ValidationError(column, f"not convertible to a UTC timestamp: {e}") from e
    return pa.array(values, from_pandas=True).cast(UTC_US, safe=False)


def _label_array(series: pd.Series) -> pa.Array:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    bad = ~missing & (values != 0.0) & (values != 1.0)
    if bad.any():
        raise ValidationError("is_fraud", f"must be 1.0, 0.0 or NaN, got {values[bad][0]!r}")
    return pa.array(values == 1.0, type=pa.bool_(), mask=missing)


def _float_array(series: pd.Series, column: str, *, nullable: bool) -> pa.Array:
    """NaN becomes NULL in optional columns (a missing model score) and is refused elsewhere,
    so SQL aggregates never average a NaN."""
    values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if nullable:
        return pa.array(values, type=pa.float64(), mask=missing)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(column, f"must be a finite number, got {values[bad][0]!r} in {int(bad.sum())} row(s)")
    return pa.array(values, type=pa.float64())


def _list_array(series: pd.Series, column: str) -> pa.Array:
    try:
        return pa.array(series.tolist(), type=pa.list_(pa.string()), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ValidationError(column, f"must be a list of strings per row: {e}") from e


def prediction_table(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with :data:`PREDICTION_SCHEMA` from a prediction frame.

    One conversion shared by the Parquet and PostgreSQL sinks, so both store the same
    types: timestamps as UTC microseconds, ``is_fraud`` as a nullable boolean, ``reasons``
    as ``list<string>``. Raises :class:`ValidationError` naming the first bad column.
    A batch is converted once, by :meth:`fraudguard.io.sinks.base.PredictionBatch.of`.
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(missing[0], f"missing from the prediction frame (missing: {', '.join(missing)})")
    arrays: list[pa.Array] = []
    for field in PREDICTION_SCHEMA:
        name = field.name
        col = frame[name]
        try:
            if name in _TIME_COLUMNS:
                arr = time_array(col, name)
            elif name == "is_fraud":
                arr = _label_array(col)
            elif name in LIST_COLUMNS:
                arr = _list_array(col, name)
            elif pa.types.is_floating(field.type):
                arr = _float_array(col, name, nullable=field.nullable)
            else:
                arr = pa.array(col, type=field.type, from_pandas=True)  # None / NaN -> null
        except (ValueError, TypeError, pa.ArrowException) as e:
            if isinstance(e, FraudGuardError):
                raise
            raise ValidationError(name, f"cannot convert to {field.type}: {e}") from e
        if not field.nullable and arr.null_count:
            raise ValidationError(name, f"{arr.null_count} null value(s) in a required column")
        if name == "decision":
            bad = pc.invert(pc.is_in(arr, value_set=_DECISIONS))
            if pc.any(bad).as_py():
                raise ValidationError(name, f"must be 'fraud' or 'legit', got {arr.filter(bad)[0].as_py()!r}")
        if name == "rule_action":
            bad = pc.and_(pc.invert(pc.is_in(arr, value_set=_ACTIONS)), pc.is_valid(arr))
            if pc.any(bad).as_py():
                raise ValidationError(name, f"must be allow, review, block or null, got {arr.filter(bad)[0].as_py()!r}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=PREDICTION_SCHEMA)
