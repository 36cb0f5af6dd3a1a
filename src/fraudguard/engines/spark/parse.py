"""Kafka records to transaction rows, with the same decoder and rules as the local engine.

Decoding runs in ``mapInPandas`` through :func:`fraudguard.schema.decode_batch`, not
Spark's ``from_json``: the msgspec struct is the one transaction schema, and its
rejections (field + reason) are what the dead-letter topic must carry. A rejected record
stays in the stream as a row with ``error_field`` set, a null ``card_id`` and its original
key and value, so one query (one checkpoint) delivers both predictions and dead letters.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudguard import schema
from fraudguard.admission import AdmissionPolicy, bound_extras
from fraudguard.records import TRANSACTION_SCHEMA, UTC_US

EMPTY_REASON = "empty message (no value)"

_SPARK_TYPES = {
    pa.string(): "string",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.int32(): "int",
    pa.int64(): "long",
    pa.binary(): "binary",
}


def spark_type(kind: pa.DataType) -> str:
    """The Spark SQL type of an Arrow type (timestamps are Spark's UTC-instant ``timestamp``)."""
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_list(kind):
        return f"array<{spark_type(kind.value_type)}>"
    if pa.types.is_map(kind):
        return f"map<{spark_type(kind.key_type)},{spark_type(kind.item_type)}>"
    return _SPARK_TYPES[kind]


def spark_ddl(schema: pa.Schema) -> str:
    """Spark DDL (``name type, ...``) of an Arrow schema: rows of ``mapInPandas`` are declared
    from the records' schemas, never written out a second time."""
    return ", ".join(f"{f.name} {spark_type(f.type)}" for f in schema)


TRANSACTION_DDL = spark_ddl(
    TRANSACTION_SCHEMA.append(pa.field("extras", pa.map_(pa.string(), pa.float64()))).append(
        pa.field("produced_at", UTC_US)
    )
)
"""A transaction frame (:data:`~fraudguard.records.TRANSACTION_SCHEMA`) as Spark columns,
``x_*`` extras in one map, and the broker timestamp."""

SOURCE_DDL = (
    "src_topic string, src_partition int, src_offset long, src_timestamp timestamp, "
    "error_field string, error_reason string, raw_key binary, raw_value binary"
)
"""Where each row came from, and for a rejected record why and its original bytes."""

PARSED_DDL = f"{TRANSACTION_DDL}, {SOURCE_DDL}"
PARSED_COLUMNS: tuple[str, ...] = tuple(part.split()[0] for part in PARSED_DDL.split(", "))


_NULLS = {"double": np.nan, "float": np.nan, "boolean": False}


def null_frame(ddl: str, n: int) -> pd.DataFrame:
    """``n`` null rows with the pandas dtypes Spark converts to the DDL's types (an all-NaN
    float column cannot become a string, map or timestamp column)."""
    cols: dict[str, object] = {}
    for part in ddl.split(", "):
        name, kind = part.split(" ", 1)
        if kind == "timestamp":
            cols[name] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
        elif kind in _NULLS:
            cols[name] = np.full(n, _NULLS[kind])
        else:
            cols[name] = pd.Series([None] * n, dtype=object)
    return pd.DataFrame(cols, index=range(n))


def _source_columns(batch: pd.DataFrame, rows: np.ndarray) -> dict[str, object]:
    return {
        "src_topic": batch["topic"].to_numpy()[rows],
        "src_partition": batch["partition"].to_numpy()[rows].astype(np.int32),
        "src_offset": batch["offset"].to_numpy()[rows].astype(np.int64),
        "src_timestamp": batch["timestamp"].to_numpy()[rows],
    }


def parse_frame(batch: pd.DataFrame, policy: AdmissionPolicy | None = None) -> pd.DataFrame:
    """Decode one Arrow batch of Kafka records; every input row gives exactly one output row.

    Valid records get the transaction columns (``produced_at`` = broker timestamp); the
    others get ``error_field``/``error_reason`` and their raw bytes. ``policy`` is the
    local engine's admission rule (``fraudguard.admission``): events too far ahead of the
    wall clock are rejected, and at most ``max_extras`` extras names are kept per record.
    """
    policy = policy or AdmissionPolicy()
    values = batch["value"].to_numpy(dtype=object)
    present = np.fromiter((v is not None for v in values), bool, len(values))
    present_idx = np.flatnonzero(present)
    good, bad = schema.decode_batch([bytes(values[i]) for i in present_idx], max_skew_s=policy.max_skew_s)
    good, _dropped = bound_extras(good, policy.max_extras)
    bad_pos = np.fromiter((i for i, _ in bad), np.int64, len(bad))
    ok_mask = np.ones(len(present_idx), bool)
    ok_mask[bad_pos] = False
    ok_rows = present_idx[ok_mask]

    out = schema.to_frame(good)[list(schema.FRAME_COLUMNS)]
    out["extras"] = [t.extras or None for t in good]
    out["produced_at"] = pd.to_datetime(batch["timestamp"].to_numpy()[ok_rows], utc=True)
    for name, value in _source_columns(batch, ok_rows).items():
        out[name] = value
    out["error_field"] = None
    out["error_reason"] = None
    out["raw_key"] = None
    out["raw_value"] = None

    rej_rows = np.concatenate([np.flatnonzero(~present), present_idx[bad_pos]]).astype(np.int64)
    if len(rej_rows) == 0:
        return out[list(PARSED_COLUMNS)]
    reasons = [EMPTY_REASON] * int((~present).sum()) + [r.reason for _, r in bad]
    fields = ["$"] * int((~present).sum()) + [r.field for _, r in bad]
    rejected = null_frame(TRANSACTION_DDL, len(rej_rows))
    for name, value in _source_columns(batch, rej_rows).items():
        rejected[name] = value
    rejected["error_field"] = fields
    rejected["error_reason"] = reasons
    rejected["raw_key"] = batch["key"].to_numpy(dtype=object)[rej_rows]
    rejected["raw_value"] = values[rej_rows]
    both = pd.concat([out, rejected], ignore_index=True) if len(out) else rejected
    return both[list(PARSED_COLUMNS)]


def parse_batches(batches: Iterator[pd.DataFrame], policy: AdmissionPolicy | None = None) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` entry point (bind ``policy`` with ``functools.partial``): :func:`parse_frame` per Arrow batch."""
    for batch in batches:
        if len(batch):
            yield parse_frame(batch, policy)
