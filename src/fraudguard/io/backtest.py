"""Backtest a rule condition over the Parquet prediction history with DuckDB.

The condition is compiled to SQL (:mod:`fraudguard.rules.sql`) and evaluated where the
data is: DuckDB scans only the ``event_date=`` partitions in range and only the columns
the query names. Per UTC day it reports

* ``hits``: transactions the rule matches;
* ``precision`` = true positives / hits with a known label, ``recall`` = true positives
  / known frauds (labels: ``is_fraud`` carried by the history; ``None`` when undefined);
* ``overlap_with_model``: hits the model alone alerted on (``ensemble_score >= threshold``,
  not the recorded decision, which other rules may have changed);
* ``extra_alerts`` (hits the model did not alert on) and that per 1,000 transactions.

A transaction written twice (a batch replayed after a crash) is counted once.
Only fields stored in the history can be backtested (:data:`HISTORY_FIELDS`); a
condition using a feature column is refused with its position.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fraudguard.errors import DataFormatError, ValidationError
from fraudguard.rules.fields import FIELDS, HISTORY_FIELDS
from fraudguard.rules.parse import parse_condition
from fraudguard.rules.sql import to_sql

_SINCE = re.compile(r"^([0-9]{1,4})([hd])$")
HISTORY_TABLE = {name: FIELDS[name] for name in HISTORY_FIELDS}

_QUERY = """
WITH src AS (
    SELECT transaction_id, event_time, amount, merchant_category, channel, card_id, merchant_id, customer_id,
           {scores}, ensemble_score, threshold, is_fraud, scored_at
    FROM read_parquet(?, hive_partitioning = true, union_by_name = true)
    WHERE event_date >= ? AND event_time >= ?
    QUALIFY row_number() OVER (PARTITION BY transaction_id ORDER BY scored_at DESC) = 1
), marked AS (
    SELECT CAST(event_time AS DATE) AS day, ({condition}) AS hit, ensemble_score >= threshold AS model, is_fraud
    FROM src
)
SELECT day,
       count(*) AS transactions,
       count(*) FILTER (WHERE hit) AS hits,
       count(*) FILTER (WHERE hit AND is_fraud IS NOT NULL) AS labelled_hits,
       count(*) FILTER (WHERE hit AND is_fraud) AS true_positives,
       count(*) FILTER (WHERE is_fraud) AS frauds,
       count(*) FILTER (WHERE model) AS model_alerts,
       count(*) FILTER (WHERE hit AND model) AS overlap_with_model
FROM marked GROUP BY day ORDER BY day
"""


def history_files(root: Path, first_day: str) -> list[Path]:
    """Parquet files of partitions from ``first_day`` on, without the writers' hidden ``.tmp-*`` files.

    DuckDB's own glob matches dot-files, and a file being written is not Parquet yet.
    """
    if not root.is_dir():
        return []
    out = []
    for part in sorted(root.glob("event_date=*")):
        if part.name.split("=", 1)[1] < first_day:
            continue
        out += [f for f in sorted(part.glob("*.parquet")) if not f.name.startswith(".")]
    return out


def parse_since(text: str) -> timedelta:
    """``36h`` / ``7d`` as a duration; :class:`ValidationError` otherwise."""
    m = _SINCE.match(text.strip())
    if not m:
        raise ValidationError("since", f"{text!r} is not a duration like 36h or 7d")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(hours=n) if unit == "h" else timedelta(days=n)


def _day(row: dict[str, Any]) -> dict[str, Any]:
    hits, labelled, tp, frauds = row["hits"], row["labelled_hits"], row["true_positives"], row.pop("frauds")
    extra = hits - row["overlap_with_model"]
    n = row["transactions"]
    return {
        **row,
        "precision": tp / labelled if labelled else None,
        "recall": tp / frauds if frauds else None,
        "extra_alerts": extra,
        "extra_alerts_per_1000": 1000.0 * extra / n if n else 0.0,
    }


def _total(days: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not days:
        return None
    keys = ("transactions", "hits", "labelled_hits", "true_positives", "frauds", "model_alerts", "overlap_with_model")
    row: dict[str, Any] = {k: sum(d[k] for d in days) for k in keys}
    row["day"] = days[-1]["day"]
    return _day(row)


def backtest(
    parquet_dir: Path | str,
    condition: str,
    *,
    since: timedelta,
    now: datetime | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Per-day and total backtest figures of ``condition`` over the last ``since`` of history."""
    import duckdb

    from fraudguard.schema import MODEL_NAMES

    node = parse_condition(condition, HISTORY_TABLE)
    start = (now or datetime.now(UTC)) - since
    root = Path(parquet_dir)
    files = history_files(root, start.date().isoformat())
    began = time.perf_counter()
    days: list[dict[str, Any]] = []
    rows = 0
    if files:
        sql = _QUERY.format(scores=", ".join(f"score_{m}" for m in MODEL_NAMES), condition=to_sql(node))
        con = duckdb.connect(config={"threads": threads} if threads else {})
        try:
            con.execute("SET TimeZone = 'UTC'")
            cur = con.execute(sql, [[str(f) for f in files], start.date(), start])
            names = [d[0] for d in cur.description]
            raw = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except duckdb.Error as e:  # a damaged file, a vanished partition: the caller's 503, not a crash
            raise DataFormatError(f"backtest over {root} failed: {e}") from e
        finally:
            con.close()
        rows = sum(r["transactions"] for r in raw)
        full = [dict(r) for r in raw]
        days = [_day(dict(r)) for r in raw]
        total = _total(full)
    else:
        total = None
    return {
        "condition": condition,
        "since": str(since),
        "rows": rows,
        "seconds": round(time.perf_counter() - began, 4),
        "days": days,
        "total": total,
    }


def synthetic_history(root: Path, rows: int, *, day: str, batch_rows: int = 2000, seed: int = 0) -> int:
    """Write ``rows`` synthetic predictions of one UTC day as the engine would (one file per batch).

    For ``fraudguard rules bench``; returns the number of files written.
    """
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from fraudguard.records import MODEL_NAMES, predictions_to_arrow

    rng = np.random.default_rng(seed)
    out_dir = Path(root) / f"event_date={day}"
    out_dir.mkdir(parents=True, exist_ok=True)
    start = pd.Timestamp(day, tz="UTC")
    times = np.sort(start + pd.to_timedelta(rng.integers(0, 86_400_000, rows), unit="ms"))
    categories = np.array(["grocery", "fuel", "jewelry", "electronics", "travel", "retail"], dtype=object)
    files = 0
    for lo in range(0, rows, batch_rows):
        n = min(batch_rows, rows - lo)
        ens = rng.random(n)
        cols = {
            "transaction_id": [f"tx{lo + i}" for i in range(n)],
            "card_id": [f"card{i}" for i in rng.integers(0, 50_000, n)],
            "customer_id": [None] * n,
            "event_time": pd.DatetimeIndex(times[lo : lo + n]),
            "amount": np.round(rng.gamma(2.0, 80.0, n), 2),
            "merchant_id": [f"m{i}" for i in rng.integers(0, 2000, n)],
            "merchant_category": categories[rng.integers(0, len(categories), n)],
            "channel": ["pos"] * n,
            **{f"score_{m}": rng.random(n) for m in MODEL_NAMES},
            "ensemble_score": ens,
            "threshold": np.full(n, 0.9),
            "decision": np.where(ens >= 0.9, "fraud", "legit"),
            "reasons": [[] for _ in range(n)],
            "model_version": ["bench"] * n,
            "rule_ids": [[] for _ in range(n)],
            "rule_action": [None] * n,
            "shadow_rule_ids": [[] for _ in range(n)],
            "is_fraud": (rng.random(n) < 0.01).astype(float),
            "fraud_scenario": [None] * n,
            "produced_at": pd.DatetimeIndex(times[lo : lo + n]),
            "scored_at": pd.DatetimeIndex(times[lo : lo + n]),
        }
        table = predictions_to_arrow(pd.DataFrame(cols))
        pq.write_table(table, out_dir / f"part-bench-{files:06d}.parquet", compression="zstd")
        files += 1
    return files
