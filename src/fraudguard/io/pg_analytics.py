"""Aggregates for the dashboard: headline stats, fraud by category / hour / amount, model comparison.

"Truth" is the late label when there is one, else the ground truth the transaction carried
(synthetic data); rows with neither are counted in totals but not in fraud rates or
confusion counts. All times are UTC; ``since`` is inclusive, ``until`` exclusive. Every
function runs one or two aggregate statements, never loops over rows in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, TypedDict

import psycopg

from fraudguard.errors import ValidationError
from fraudguard.io.pg_queries import read_tx
from fraudguard.schema import ENSEMBLE, MODEL_NAMES

TRUTH = "coalesce(label, is_fraud)"
DEFAULT_AMOUNT_EDGES: tuple[float, ...] = (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0)


class ModelScore(TypedDict):
    """Confusion counts and derived quality of one model of one model version on labelled rows."""

    model_version: str
    model: str
    labelled: int
    tp: int
    fp: int
    tn: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    mean_score_fraud: float | None
    mean_score_legit: float | None


class Stats(TypedDict):
    """Headline numbers; rates are ``None`` when their denominator is zero."""

    total: int
    alerts: int
    alert_rate: float | None
    labelled: int
    frauds: int
    fraud_rate: float | None
    per_decision: dict[str, int]
    per_model_version: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None
    models: list[ModelScore]


class GroupRate(TypedDict):
    """Counts for one group (merchant category, hour of day or amount bucket)."""

    key: str
    transactions: int
    alerts: int
    alert_rate: float | None
    labelled: int
    frauds: int
    fraud_rate: float | None
    amount_sum: float


def _ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


def _window(since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for name, value, op in (("since", since, ">="), ("until", until, "<")):
        if value is None:
            continue
        if value.tzinfo is None:
            raise ValidationError(name, "must be time-zone aware")
        clauses.append(f"event_time {op} %s")
        params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def model_comparison(
    conn: psycopg.Connection[Any],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[ModelScore]:
    """Per model version and per model (each base model and the ensemble), how well it did.

    The ensemble's prediction is the stored decision. A base model "predicts fraud" when
    its score reaches ``thresholds[model]`` if given, else the row's ensemble threshold:
    the base models have no threshold of their own in the stored row.
    """
    thresholds = dict(thresholds or {})
    unknown = set(thresholds) - set(MODEL_NAMES)
    if unknown:
        raise ValidationError("thresholds", f"unknown model(s) {sorted(unknown)}; expected {list(MODEL_NAMES)}")
    where, params = _window(since, until)
    where = (where + " AND " if where else " WHERE ") + f"{TRUTH} IS NOT NULL"
    preds = {ENSEMBLE: "decision = 'fraud'"}
    scores = {ENSEMBLE: "ensemble_score"}
    for m in MODEL_NAMES:
        preds[m] = f"score_{m} >= coalesce(%s::float8, threshold)"
        scores[m] = f"score_{m}"
    inner_cols = [f"({preds[m]}) AS p_{m}, {scores[m]} AS s_{m}" for m in preds]
    inner_params = [thresholds.get(m) for m in MODEL_NAMES]
    aggs = []
    for m in preds:
        aggs.append(
            f"count(*) FILTER (WHERE truth AND p_{m}) AS {m}_tp, count(*) FILTER (WHERE NOT truth AND p_{m}) AS {m}_fp, "
            f"count(*) FILTER (WHERE NOT truth AND NOT p_{m}) AS {m}_tn, count(*) FILTER (WHERE truth AND NOT p_{m}) AS {m}_fn, "
            f"avg(s_{m}) FILTER (WHERE truth) AS {m}_sf, avg(s_{m}) FILTER (WHERE NOT truth) AS {m}_sl"
        )
    sql = (
        f"SELECT model_version, count(*) AS labelled, {', '.join(aggs)} FROM ("
        f"SELECT model_version, {TRUTH} AS truth, {', '.join(inner_cols)} FROM fraud_predictions{where}"
        ") s GROUP BY model_version ORDER BY model_version"
    )
    with read_tx(conn, "comparing models") as cur:
        rows = cur.execute(sql, [*inner_params, *params]).fetchall()  # type: ignore[call-overload]
    out: list[ModelScore] = []
    for r in rows:
        for m in preds:
            tp, fp, tn, fn = (r[f"{m}_{k}"] for k in ("tp", "fp", "tn", "fn"))
            precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
            f1 = None if precision is None or recall is None else _ratio(2 * precision * recall, precision + recall)
            out.append(
                ModelScore(
                    model_version=r["model_version"], model=m, labelled=r["labelled"], tp=tp, fp=fp, tn=tn, fn=fn,
                    precision=precision, recall=recall, f1=f1,
                    mean_score_fraud=r[f"{m}_sf"], mean_score_legit=r[f"{m}_sl"],
                )
            )  # fmt: skip
    return out


def stats(
    conn: psycopg.Connection[Any],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> Stats:
    """Headline counts and rates for the dashboard, with per-model confusion counts."""
    where, params = _window(since, until)
    with read_tx(conn, "computing stats") as cur:
        head = cur.execute(
            f"""SELECT count(*) AS total, count(*) FILTER (WHERE decision = 'fraud') AS alerts,
                       count({TRUTH}) AS labelled, count(*) FILTER (WHERE {TRUTH}) AS frauds,
                       min(event_time) AS first_event, max(event_time) AS last_event
                FROM fraud_predictions{where}""",  # type: ignore[arg-type]
            params,
        ).fetchone()
        assert head is not None
        groups = cur.execute(
            f"""SELECT 'decision' AS kind, decision AS key, count(*) AS n FROM fraud_predictions{where} GROUP BY decision
                UNION ALL
                SELECT 'model_version', model_version, count(*) FROM fraud_predictions{where} GROUP BY model_version""",  # type: ignore[arg-type]
            params + params,
        ).fetchall()
    return Stats(
        total=head["total"],
        alerts=head["alerts"],
        alert_rate=_ratio(head["alerts"], head["total"]),
        labelled=head["labelled"],
        frauds=head["frauds"],
        fraud_rate=_ratio(head["frauds"], head["labelled"]),
        per_decision={g["key"]: g["n"] for g in groups if g["kind"] == "decision"},
        per_model_version={g["key"]: g["n"] for g in groups if g["kind"] == "model_version"},
        first_event=head["first_event"],
        last_event=head["last_event"],
        models=model_comparison(conn, since=since, until=until, thresholds=thresholds),
    )


def _grouped(
    conn: psycopg.Connection[Any], key_sql: str, where: str, params: list[Any], what: str
) -> list[dict[str, Any]]:
    sql = f"""SELECT {key_sql} AS key, count(*) AS transactions, count(*) FILTER (WHERE decision = 'fraud') AS alerts,
                     count({TRUTH}) AS labelled, count(*) FILTER (WHERE {TRUTH}) AS frauds,
                     coalesce(sum(amount), 0) AS amount_sum
              FROM fraud_predictions{where} GROUP BY 1"""
    with read_tx(conn, what) as cur:
        return cur.execute(sql, params).fetchall()  # type: ignore[call-overload,no-any-return]


def _rates(rows: Sequence[dict[str, Any]]) -> list[GroupRate]:
    out: list[GroupRate] = []
    for r in rows:
        r["alert_rate"] = _ratio(r["alerts"], r["transactions"])
        r["fraud_rate"] = _ratio(r["frauds"], r["labelled"])
        r["key"] = str(r["key"])
        out.append(r)  # type: ignore[arg-type]
    return out


def fraud_by_category(
    conn: psycopg.Connection[Any], *, since: datetime | None = None, until: datetime | None = None
) -> list[GroupRate]:
    """Per merchant category, most alerts first."""
    where, params = _window(since, until)
    rows = _grouped(conn, "merchant_category", where, params, "grouping by merchant category")
    return sorted(_rates(rows), key=lambda r: (-r["alerts"], r["key"]))


def fraud_by_hour(
    conn: psycopg.Connection[Any], *, since: datetime | None = None, until: datetime | None = None
) -> list[GroupRate]:
    """All 24 UTC hours of the day (``"0"`` .. ``"23"``), hours without traffic as zeros."""
    where, params = _window(since, until)
    key = "extract(hour FROM event_time AT TIME ZONE 'UTC')::int"
    found = {r["key"]: r for r in _grouped(conn, key, where, params, "grouping by hour of day")}
    empty = {"transactions": 0, "alerts": 0, "labelled": 0, "frauds": 0, "amount_sum": 0.0}
    return _rates([found.get(h, {"key": h, **empty}) for h in range(24)])


def fraud_by_amount(
    conn: psycopg.Connection[Any],
    *,
    edges: Sequence[float] = DEFAULT_AMOUNT_EDGES,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[GroupRate]:
    """Per amount bucket ``[lo, hi)`` cut at ``edges`` (strictly increasing), empty buckets included."""
    edges = [float(e) for e in edges]
    if not edges or any(b <= a for a, b in pairwise(edges)):
        raise ValidationError("edges", f"must be non-empty and strictly increasing, got {edges}")
    where, params = _window(since, until)
    found = {
        r["key"]: r
        for r in _grouped(conn, "width_bucket(amount, %s::float8[])", where, [edges, *params], "grouping by amount")
    }
    bounds = [float("-inf"), *edges, float("inf")]
    labels = [f"[{lo:g}, {hi:g})" if lo > float("-inf") else f"< {hi:g}" for lo, hi in pairwise(bounds)]
    labels[-1] = f">= {edges[-1]:g}"
    empty = {"transactions": 0, "alerts": 0, "labelled": 0, "frauds": 0, "amount_sum": 0.0}
    return _rates([{**found.get(i, empty), "key": labels[i]} for i in range(len(labels))])
