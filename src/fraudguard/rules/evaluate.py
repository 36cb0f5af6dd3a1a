"""Running a checked condition: over a whole batch's columns, or over one row.

:func:`evaluate` is what engines use: one numpy operation per node, over column arrays,
so a rule costs the same whether the batch holds 10 or 100,000 rows. :func:`evaluate_row`
is the plain-Python reference the tests compare it with (and what explains a single
decision). Both give the same answer for every row, including missing values:

* a missing number is NaN: every comparison with it is false except ``!=``, arithmetic
  propagates it (IEEE rules, the same in numpy and Python floats);
* a missing string is None: ``==`` and ``in`` are false, ``!=`` and ``not in`` true;
* division by zero gives ``inf``/``nan`` (numpy's rule), never an exception.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.rules.fields import column_of
from fraudguard.rules.parse import Arith, BoolOp, Cmp, Const, Field, In, Neg, Node, Not

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}

Columns = Callable[[str], Any]
"""``get(column_name) -> array-like`` of one batch (raises ``KeyError`` when absent)."""


def frame_columns(*frames: pd.DataFrame) -> Columns:
    """Look a column up in the first frame that has it (predictions, then features, then input)."""

    def get(name: str) -> Any:
        for f in frames:
            if name in f.columns:
                return f[name].to_numpy()
        raise KeyError(name)

    return get


def _column(node: Field, get: Columns, n: int) -> np.ndarray:
    values = np.asarray(get(column_of(node.name)))
    if len(values) != n:
        raise ValueError(f"column {node.name!r} has {len(values)} rows, expected {n}")
    if node.kind == "num":
        return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if node.kind == "bool":
        return pd.Series(values).fillna(False).astype(bool).to_numpy()
    return values.astype(object)


def _vec(node: Node, get: Columns, n: int) -> Any:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Field):
        return _column(node, get, n)
    if isinstance(node, Neg):
        return -_vec(node.operand, get, n)
    if isinstance(node, Arith):
        return _OPS[node.op](_as_float(_vec(node.left, get, n)), _as_float(_vec(node.right, get, n)))
    if isinstance(node, Cmp):
        left, right = _vec(node.left, get, n), _vec(node.right, get, n)
        if node.left.kind == "str":
            out = _str_equal(left, right, n)
            return out if node.op == "==" else ~out
        return np.broadcast_to(np.asarray(_OPS[node.op](left, right), dtype=bool), (n,))
    if isinstance(node, In):
        values = _vec(node.item, get, n)
        if np.ndim(values) == 0:
            hit = np.full(n, values in node.values)
        else:
            hit = pd.Series(values).isin(node.values).to_numpy()
            if node.item.kind == "str":  # isin would match None with NaN-like entries: not here
                hit &= pd.notna(values)
        return ~hit if node.negate else hit
    if isinstance(node, Not):
        return ~_vec(node.operand, get, n)
    if isinstance(node, BoolOp):
        parts = [np.broadcast_to(np.asarray(_vec(i, get, n), dtype=bool), (n,)) for i in node.items]
        return np.logical_and.reduce(parts) if node.op == "and" else np.logical_or.reduce(parts)
    raise TypeError(f"not a rule node: {node!r}")  # pragma: no cover


def _as_float(v: Any) -> Any:
    return np.float64(v) if np.ndim(v) == 0 else v


def _str_equal(left: Any, right: Any, n: int) -> np.ndarray:
    """Element-wise equality of text columns/constants; None equals nothing."""
    if np.ndim(left) == 0 and np.ndim(right) == 0:
        return np.full(n, left is not None and left == right)
    a = pd.Series(left) if np.ndim(left) else left
    b = pd.Series(right) if np.ndim(right) else right
    eq = (a == b).to_numpy(dtype=bool) if isinstance(a, pd.Series) else (b == a).to_numpy(dtype=bool)
    missing = pd.isna(a).to_numpy() if isinstance(a, pd.Series) else np.zeros(n, bool)
    if isinstance(b, pd.Series):
        missing |= pd.isna(b).to_numpy()
    return eq & ~missing


def evaluate(node: Node, get: Columns, n: int) -> np.ndarray:
    """Boolean mask of the ``n`` rows matching the condition; vectorised over columns."""
    if n == 0:
        return np.zeros(0, dtype=bool)
    with np.errstate(all="ignore"):
        return np.array(np.broadcast_to(_vec(node, get, n), (n,)), dtype=bool)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _row_value(node: Field, row: Mapping[str, Any]) -> Any:
    v = row.get(column_of(node.name))
    if node.kind == "num":
        return np.float64(np.nan) if _missing(v) else np.float64(v)
    if node.kind == "bool":
        return False if _missing(v) else bool(v)
    return None if _missing(v) else v


def evaluate_row(node: Node, row: Mapping[str, Any]) -> Any:
    """The condition's value for one row (a dict of column -> value); the reference semantics."""
    with np.errstate(all="ignore"):
        return _row(node, row)


def _row(node: Node, row: Mapping[str, Any]) -> Any:
    if isinstance(node, Const):
        return np.float64(node.value) if node.kind == "num" else node.value
    if isinstance(node, Field):
        return _row_value(node, row)
    if isinstance(node, Neg):
        return -_row(node.operand, row)
    if isinstance(node, Arith):
        return _OPS[node.op](_row(node.left, row), _row(node.right, row))
    if isinstance(node, Cmp):
        left, right = _row(node.left, row), _row(node.right, row)
        if node.left.kind == "str":
            eq = left is not None and right is not None and left == right
            return eq if node.op == "==" else not eq
        return bool(_OPS[node.op](left, right))
    if isinstance(node, In):
        v = _row(node.item, row)
        hit = v is not None and not (isinstance(v, float) and v != v) and v in node.values
        return (not hit) if node.negate else hit
    if isinstance(node, Not):
        return not _row(node.operand, row)
    if isinstance(node, BoolOp):
        parts = [bool(_row(i, row)) for i in node.items]
        return all(parts) if node.op == "and" else any(parts)
    raise TypeError(f"not a rule node: {node!r}")  # pragma: no cover
