"""Records between their shapes: structs, pandas frames, column arrays and JSON bytes.

The one converter, in three modules by target: this one (structs and frames, the form the
scoring core works on), :mod:`~fraudguard.records.convert_arrow` (Arrow tables, what
Parquet and PostgreSQL store) and :mod:`~fraudguard.records.convert_json` (JSON bytes of
whole columns, what Kafka carries). Each conversion works column by column; the few that
build one struct per row say so, because a struct per row is their output.

*Column arrays* are a transaction batch as ``(data, extras)``: ``data`` maps every
:data:`~fraudguard.records.transaction.TRANSACTION_COLUMNS` name to a NumPy array
(``event_time`` as int64 microseconds since the epoch, UTC; ``is_fraud`` float64 with NaN
for unknown) and ``extras`` maps an extra feature's name (without ``x_``) to a float64
array. The generator and the dataset readers produce them without any per-row object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa

from fraudguard.records.prediction import MODEL_NAMES, SCORE_COLUMNS, Prediction
from fraudguard.records.transaction import EXTRA_PREFIX, TRANSACTION_SCHEMA, Transaction

ColumnArrays = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
"""``(data, extras)``: a transaction batch as column arrays (module docstring)."""

_encoder = msgspec.json.Encoder()


def encode(record: msgspec.Struct) -> bytes:
    """JSON bytes of any record (datetimes as ISO-8601)."""
    return _encoder.encode(record)


def encode_many(records: Sequence[msgspec.Struct]) -> list[bytes]:
    """JSON bytes for each record."""
    enc = _encoder.encode
    return [enc(r) for r in records]


def _strings(values: list[str | None]) -> np.ndarray | list[str | None]:
    """An object array of strings (or ``None``): pandas takes it as is, where a list costs it
    a conversion and a type inference per column (a third of ``to_frame``'s time). An empty
    list stays a list, whose column pandas types as before."""
    return np.array(values, dtype=object) if values else values


def to_frame(transactions: Sequence[Transaction]) -> pd.DataFrame:
    """Columnar view of a batch, the input of the feature pipeline and the scorer.

    Columns are :data:`TRANSACTION_COLUMNS` plus one ``x_<name>`` float64 column per extra;
    ``event_time`` is ``datetime64[ns, UTC]``, missing coordinates and labels are NaN.
    """
    n = len(transactions)
    nan = float("nan")
    cols: dict[str, object] = {
        "transaction_id": _strings([t.transaction_id for t in transactions]),
        "card_id": _strings([t.card_id for t in transactions]),
        "customer_id": _strings([t.customer_id for t in transactions]),
        "event_time": pd.to_datetime([t.event_time for t in transactions], utc=True),
        "amount": np.fromiter((t.amount for t in transactions), dtype=np.float64, count=n),
        "currency": _strings([t.currency for t in transactions]),
        "merchant_id": _strings([t.merchant_id for t in transactions]),
        "merchant_category": _strings([t.merchant_category for t in transactions]),
        "channel": _strings([t.channel for t in transactions]),
        "card_present": np.fromiter((t.card_present for t in transactions), dtype=bool, count=n),
        "customer_lat": np.fromiter(
            (nan if t.customer_lat is None else t.customer_lat for t in transactions), np.float64, n
        ),
        "customer_lon": np.fromiter(
            (nan if t.customer_lon is None else t.customer_lon for t in transactions), np.float64, n
        ),
        "merchant_lat": np.fromiter(
            (nan if t.merchant_lat is None else t.merchant_lat for t in transactions), np.float64, n
        ),
        "merchant_lon": np.fromiter(
            (nan if t.merchant_lon is None else t.merchant_lon for t in transactions), np.float64, n
        ),
        "device_id": _strings([t.device_id for t in transactions]),
        "is_fraud": np.fromiter(
            (nan if t.is_fraud is None else float(t.is_fraud) for t in transactions), np.float64, n
        ),
        "fraud_scenario": _strings([t.fraud_scenario for t in transactions]),
    }
    frame = pd.DataFrame(cols)
    extra_names = sorted({k for t in transactions for k in t.extras})
    if not extra_names:
        return frame
    # one block for every extras column: inserting them one by one cost quadratic time
    col = {name: j for j, name in enumerate(extra_names)}
    block = np.full((n, len(extra_names)), nan)
    for i, t in enumerate(transactions):
        for name, value in t.extras.items():
            block[i, col[name]] = value
    extras = pd.DataFrame(block, columns=[EXTRA_PREFIX + name for name in extra_names], index=frame.index)
    return pd.concat([frame, extras], axis=1)


def _opt(value: object) -> object:
    """``None`` for a missing cell (``None`` or float NaN), else the value unchanged."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def from_frame(frame: pd.DataFrame) -> list[Transaction]:
    """Inverse of :func:`to_frame` (used by training files and tests).

    Per-row and slow on purpose: records are rebuilt through the struct constructor so a
    frame that round-trips keeps exactly the values a producer would have sent.
    """
    extras = [c for c in frame.columns if c.startswith(EXTRA_PREFIX)]
    out: list[Transaction] = []
    for row in frame.to_dict("records"):
        label = _opt(row.get("is_fraud"))
        out.append(
            Transaction(
                transaction_id=str(row["transaction_id"]),
                card_id=str(row["card_id"]),
                customer_id=_opt(row.get("customer_id")),  # type: ignore[arg-type]
                event_time=pd.Timestamp(row["event_time"]).to_pydatetime(),
                amount=float(row["amount"]),
                currency=row.get("currency") or "USD",
                merchant_id=str(row["merchant_id"]),
                merchant_category=row.get("merchant_category") or "other",
                channel=row.get("channel") or "pos",
                card_present=bool(row.get("card_present", True)),
                customer_lat=_opt(row.get("customer_lat")),  # type: ignore[arg-type]
                customer_lon=_opt(row.get("customer_lon")),  # type: ignore[arg-type]
                merchant_lat=_opt(row.get("merchant_lat")),  # type: ignore[arg-type]
                merchant_lon=_opt(row.get("merchant_lon")),  # type: ignore[arg-type]
                device_id=_opt(row.get("device_id")),  # type: ignore[arg-type]
                is_fraud=None if label is None else bool(label),
                fraud_scenario=_opt(row.get("fraud_scenario")),  # type: ignore[arg-type]
                extras={c[len(EXTRA_PREFIX) :]: float(row[c]) for c in extras if not math.isnan(row[c])},
            )
        )
    return out


def _py_time(value: object) -> object:
    """A Python ``datetime`` for a timestamp cell, ``None`` for a missing one (NaT)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()  # type: ignore[arg-type]


def _texts(value: object) -> list[str]:
    """A list cell as a list of strings (missing or NaN: empty)."""
    return [] if value is None or isinstance(value, float) else [str(v) for v in value]  # type: ignore[attr-defined]


def prediction_records(frame: pd.DataFrame) -> list[Prediction]:
    """Prediction structs from a prediction frame (API answers, Kafka-free small batches).

    Sinks write the frame itself; records are for callers that answer one request at a
    time and need JSON with per-model ``scores`` as a mapping. Column by column: one
    ``tolist`` per column, because ``DataFrame.to_dict("records")`` boxes every cell and
    cost more than scoring a one-row micro-batch. The rule, label and time columns may be
    absent (``None`` / empty).
    """
    n = len(frame)
    present = frame.columns
    nones: list[object] = [None] * n

    def cells(name: str) -> list[object]:
        return frame[name].tolist() if name in present else nones

    def floats(name: str) -> list[float]:
        return frame[name].to_numpy(dtype=np.float64).tolist()  # type: ignore[no-any-return]

    scores = list(zip(*(floats(c) for c in SCORE_COLUMNS), strict=True)) if n else []
    labels = (
        frame["is_fraud"].to_numpy(np.float64, na_value=np.nan).tolist() if "is_fraud" in present else [math.nan] * n
    )
    ids, cards, times, merchants = (cells(c) for c in ("transaction_id", "card_id", "event_time", "merchant_id"))
    categories, decisions, reasons, versions = (
        cells(c) for c in ("merchant_category", "decision", "reasons", "model_version")
    )
    rule_ids, actions, shadow_ids = (cells(c) for c in ("rule_ids", "rule_action", "shadow_rule_ids"))
    scenarios, produced, scored = (cells(c) for c in ("fraud_scenario", "produced_at", "scored_at"))
    amounts, ensemble, thresholds = floats("amount"), floats("ensemble_score"), floats("threshold")
    return [
        Prediction(
            transaction_id=ids[i],  # type: ignore[arg-type]
            card_id=cards[i],  # type: ignore[arg-type]
            event_time=pd.Timestamp(times[i]).to_pydatetime(),  # type: ignore[arg-type]
            amount=amounts[i],
            merchant_id=merchants[i],  # type: ignore[arg-type]
            merchant_category=categories[i],  # type: ignore[arg-type]
            scores=dict(zip(MODEL_NAMES, scores[i], strict=True)),
            ensemble_score=ensemble[i],
            threshold=thresholds[i],
            decision=decisions[i],  # type: ignore[arg-type]
            reasons=[] if reasons[i] is None or isinstance(reasons[i], float) else list(reasons[i]),  # type: ignore[call-overload]
            model_version=versions[i],  # type: ignore[arg-type]
            rule_ids=_texts(rule_ids[i]),
            rule_action=_opt(actions[i]),  # type: ignore[arg-type]
            shadow_rule_ids=_texts(shadow_ids[i]),
            is_fraud=None if labels[i] != labels[i] else bool(labels[i]),
            fraud_scenario=_opt(scenarios[i]) or None,  # type: ignore[arg-type]
            produced_at=_py_time(produced[i]),  # type: ignore[arg-type]
            scored_at=_py_time(scored[i]),  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


def transaction_arrays(frame: pd.DataFrame) -> ColumnArrays:
    """Column arrays of a transaction frame (:func:`to_frame`'s shape, or one read from Parquet)."""
    data: dict[str, np.ndarray] = {}
    for field in TRANSACTION_SCHEMA:
        name, kind, col = field.name, field.type, frame[field.name]
        if pa.types.is_timestamp(kind):
            # datetime64 columns (naive taken as UTC) skip pd.to_datetime: the int64 epoch is the same
            times = col if pd.api.types.is_datetime64_any_dtype(col.dtype) else pd.to_datetime(col, utc=True)
            data[name] = pd.DatetimeIndex(times).as_unit("us").asi8
        elif pa.types.is_string(kind):
            values = col.to_numpy(dtype=object, copy=True)  # never the frame's own array
            values[pd.isna(values)] = None  # NaN / NaT / pd.NA
            data[name] = values
        elif pa.types.is_boolean(kind):
            data[name] = col.to_numpy(dtype=bool)
        else:
            data[name] = col.to_numpy(dtype=np.float64)
    extras = {
        c[len(EXTRA_PREFIX) :]: frame[c].to_numpy(dtype=np.float64) for c in frame.columns if c.startswith(EXTRA_PREFIX)
    }
    return data, extras


def arrays_to_frame(data: dict[str, np.ndarray], extras: dict[str, np.ndarray]) -> pd.DataFrame:
    """A transaction frame from column arrays (``event_time`` as ``datetime64[ns, UTC]``)."""
    cols: dict[str, object] = dict(data)
    cols["event_time"] = pd.to_datetime(data["event_time"], unit="us", utc=True).as_unit("ns")
    for name, values in extras.items():
        cols[EXTRA_PREFIX + name] = values
    return pd.DataFrame(cols)
