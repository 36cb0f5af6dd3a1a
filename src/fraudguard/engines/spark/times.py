"""Spark's timestamps as the feature code and the sinks take them.

Spark hands pandas naive UTC ``datetime64`` columns; the features, the scorer and the
sinks require time-zone aware ones. :func:`utc` is that conversion wherever the Spark engine
needs it (the stateful steps, scoring, the driver's prediction frame). It skips
``pd.to_datetime`` when the values already are datetimes: that function's cache check
builds a ``Timestamp`` per sampled row before it looks at the dtype.
"""

from __future__ import annotations

import pandas as pd


def utc(series: pd.Series) -> pd.Series:
    """``series`` as UTC-aware times: naive ones are taken as UTC, aware ones kept as they are,
    anything else (Python datetimes, strings) parsed by ``pd.to_datetime``."""
    s = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else pd.to_datetime(series)
    return s if isinstance(s.dtype, pd.DatetimeTZDtype) else s.dt.tz_localize("UTC")
