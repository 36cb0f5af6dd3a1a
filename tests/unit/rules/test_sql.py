"""The SQL form of a condition (DuckDB) gives what the vectorised evaluator gives, NULLs included."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudguard.rules import evaluate, frame_columns, parse_condition
from fraudguard.rules.sql import to_sql
from tests.unit.rules.test_evaluate import bool_expr, rows


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=bool_expr(3), data=st.lists(rows, min_size=1, max_size=20))
def test_sql_equals_vectorised(condition: str, data: list[dict]) -> None:
    node = parse_condition(condition)
    frame = pd.DataFrame(data)
    expected = evaluate(node, frame_columns(frame), len(frame)).tolist()
    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN / None -> NULL, as in Parquet
    con = duckdb.connect()
    try:
        con.register("t", table)
        got = [r[0] for r in con.execute(f"SELECT {to_sql(node)} FROM t").fetchall()]
    finally:
        con.close()
    assert got == expected, (condition, to_sql(node))


def test_literals_are_escaped() -> None:
    sql = to_sql(parse_condition('merchant_category == "x\' OR 1=1 --"'))
    assert "'x'' OR 1=1 --'" in sql
    con = duckdb.connect()
    con.register("t", pa.table({"merchant_category": ["x' OR 1=1 --", "y"]}))
    assert [r[0] for r in con.execute(f"SELECT {sql} FROM t").fetchall()] == [True, False]
