"""A checked condition as a SQL boolean expression (DuckDB dialect) with the engine's semantics.

The backtest runs rules where the history is, in DuckDB over Parquet, instead of pulling a
day of rows into Python. The SQL must give the answer :func:`fraudguard.rules.evaluate`
gives, and SQL's three-valued logic differs from it: a comparison with NULL is NULL, and
``NOT NULL`` is NULL. So every comparison is closed with ``coalesce``: false when a side
is missing, except ``!=`` / ``not in``, true (as with NaN and None in the engine). NaN from
arithmetic (``0 * inf``) becomes NULL, because DuckDB orders NaN above every number while
numpy compares it false.

Only names from the checked tree (a whitelist) and escaped literals are emitted: nothing
from the user reaches the SQL text unquoted.
"""

from __future__ import annotations

from fraudguard.rules.fields import column_of
from fraudguard.rules.parse import Arith, BoolOp, Cmp, Const, Field, In, Neg, Node, Not


def _literal(value: object, kind: str) -> str:
    if kind == "str":
        return "'" + str(value).replace("'", "''") + "'"
    if kind == "bool":
        return "TRUE" if value else "FALSE"
    return f"CAST({float(value)!r} AS DOUBLE)"  # type: ignore[arg-type]


def _ident(name: str) -> str:
    return '"' + column_of(name).replace('"', '""') + '"'


def to_sql(node: Node) -> str:
    """The SQL text of a checked condition (or sub-expression)."""
    if isinstance(node, Const):
        return _literal(node.value, node.kind)
    if isinstance(node, Field):
        col = _ident(node.name)
        return f"CAST({col} AS DOUBLE)" if node.kind == "num" else col
    if isinstance(node, Neg):
        return f"(-{to_sql(node.operand)})"
    if isinstance(node, Arith):
        return f"nullif(({to_sql(node.left)} {node.op} {to_sql(node.right)}), CAST('NaN' AS DOUBLE))"
    if isinstance(node, Cmp):
        op = "<>" if node.op == "!=" else ("=" if node.op == "==" else node.op)
        missing = "TRUE" if node.op == "!=" else "FALSE"
        return f"coalesce({to_sql(node.left)} {op} {to_sql(node.right)}, {missing})"
    if isinstance(node, In):
        values = ", ".join(_literal(v, node.item.kind) for v in node.values)
        hit = f"coalesce({to_sql(node.item)} IN ({values}), FALSE)"
        return f"(NOT {hit})" if node.negate else hit
    if isinstance(node, Not):
        return f"(NOT {to_sql(node.operand)})"
    if isinstance(node, BoolOp):
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(to_sql(i) for i in node.items) + ")"
    raise TypeError(f"not a rule node: {node!r}")  # pragma: no cover
