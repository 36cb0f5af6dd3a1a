"""Frames and column arrays to Arrow tables: the form Parquet files and PostgreSQL COPY take.

Part of the one converter (:mod:`fraudguard.records.convert`). A prediction frame is
checked on the way in, because a stored row cannot be fixed afterwards: a required column
with a null, a NaN score in a column SQL aggregates average, an unknown decision or rule
action is refused with a :class:`~fraudguard.errors.ValidationError` naming the column.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudguard.errors import FraudGuardError, ValidationError
from fraudguard.records.prediction import (
    LIST_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTION_SCHEMA,
    TIME_COLUMNS,
    Decision,
    RuleAction,
)
from fraudguard.records.transaction import EXTRA_PREFIX, TRANSACTION_OPTIONAL_FLOATS, TRANSACTION_SCHEMA, UTC_US

_DECISIONS = pa.array(get_args(Decision))
_ACTIONS = pa.array(get_args(RuleAction))


def time_array(series: pd.Series, column: str) -> pa.Array:
    """UTC microsecond timestamps of a column (tz-aware datetimes, or text/objects pandas parses).

    A naive ``datetime64`` column with any value is refused: its time zone is unknown.
    """
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


def _floats(series: pd.Series, errors: Literal["raise", "coerce"]) -> np.ndarray:
    """float64 values, NaN for missing: NumPy numeric columns directly (``pd.to_numeric``
    costs ~50 µs per column whatever the length), anything else through ``pd.to_numeric``."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiub":
        return series.to_numpy(dtype=np.float64)
    return pd.to_numeric(series, errors=errors).to_numpy(dtype=np.float64, na_value=np.nan)


def _label_array(series: pd.Series) -> pa.Array:
    values = _floats(series, "coerce")
    missing = np.isnan(values)
    bad = ~missing & (values != 0.0) & (values != 1.0)
    if bad.any():
        raise ValidationError("is_fraud", f"must be 1.0, 0.0 or NaN, got {values[bad][0]!r}")
    return pa.array(values == 1.0, type=pa.bool_(), mask=missing)


def _float_array(series: pd.Series, column: str, *, nullable: bool) -> pa.Array:
    """NaN becomes NULL in optional columns (a missing model score) and is refused elsewhere,
    so SQL aggregates never average a NaN."""
    values = _floats(series, "raise")
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


def _refuse_outside(arr: pa.Array, name: str, allowed: pa.Array, what: str) -> None:
    bad = pc.and_(pc.invert(pc.is_in(arr, value_set=allowed)), pc.is_valid(arr))
    if pc.any(bad).as_py():
        raise ValidationError(name, f"must be {what}, got {arr.filter(bad)[0].as_py()!r}")


def predictions_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with :data:`PREDICTION_SCHEMA` from a prediction frame.

    One conversion for the Parquet and PostgreSQL sinks, so both store the same types:
    timestamps as UTC microseconds, ``is_fraud`` as a nullable boolean, list columns as
    ``list<string>``. Raises :class:`ValidationError` naming the first bad column.
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(missing[0], f"missing from the prediction frame (missing: {', '.join(missing)})")
    arrays: list[pa.Array] = []
    for field in PREDICTION_SCHEMA:
        name = field.name
        col = frame[name]
        try:
            if name in TIME_COLUMNS:
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
            _refuse_outside(arr, name, _DECISIONS, "'fraud' or 'legit'")
        if name == "rule_action":
            _refuse_outside(arr, name, _ACTIONS, "allow, review, block or null")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=PREDICTION_SCHEMA)


def predictions_from_arrow(table: pa.Table) -> pd.DataFrame:
    """The inverse of :func:`predictions_to_arrow`: a prediction frame with the frame's types.

    For readers of the Parquet files: timestamps ``datetime64[ns, UTC]``, the label float64
    (1.0 / 0.0 / NaN), list columns a Python list per row (``None`` for a null list).
    """
    cols: dict[str, object] = {}
    for field in PREDICTION_SCHEMA:
        col = table.column(field.name)
        if field.name in TIME_COLUMNS:
            cols[field.name] = col.cast(pa.timestamp("ns", tz="UTC")).to_pandas()
        elif field.name in LIST_COLUMNS:
            cols[field.name] = col.to_pylist()
        elif pa.types.is_boolean(field.type):
            cols[field.name] = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        else:
            cols[field.name] = col.to_pandas()
    return pd.DataFrame(cols)


def arrays_to_arrow(data: dict[str, np.ndarray], extras: dict[str, np.ndarray]) -> pa.Table:
    """An Arrow table with :data:`TRANSACTION_SCHEMA` (plus ``x_`` extras) from column arrays."""
    arrays = []
    for f in TRANSACTION_SCHEMA:
        v = data[f.name]
        if pa.types.is_timestamp(f.type):
            arrays.append(pa.array(v.astype("datetime64[us]"), type=f.type))
        elif f.name in TRANSACTION_OPTIONAL_FLOATS:
            arrays.append(pa.array(v, type=f.type, from_pandas=True))  # NaN -> null
        else:
            arrays.append(pa.array(v, type=f.type))
    names = list(TRANSACTION_SCHEMA.names)
    for name, values in extras.items():
        arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
        names.append(EXTRA_PREFIX + name)
    return pa.Table.from_arrays(arrays, names=names)
