"""Rule conditions: parsed by Python's own parser, then checked node by node against a whitelist.

``amount > 1000 and card_count_1h >= 5 and score_ensemble > 0.3`` is valid Python
expression syntax, so :func:`ast.parse` (``mode="eval"``) gives a real syntax tree with
line and column numbers for free. Nothing is ever passed to ``eval``: the tree is walked
here and every node type not listed below is refused (calls, attribute access,
subscripts, lambdas, comprehensions, ``__import__`` ...), as is every name that is not a
known field. The result is a small typed tree (:class:`Node` subclasses) that
:mod:`fraudguard.rules.evaluate` runs over columns or single rows.

Allowed: ``and``/``or``/``not``; comparisons ``== != < <= > >=`` (chains too);
``in``/``not in`` a literal tuple or list; ``+ - * /`` and unary minus on numbers;
number, string and ``True``/``False`` literals; field names.

Limits keep hostile input cheap to refuse: :data:`MAX_LENGTH` characters,
:data:`MAX_DEPTH` levels of nesting, :data:`MAX_NODES` nodes, numbers within
:data:`MAX_NUMBER`, strings up to :data:`MAX_STRING` characters, lists up to
:data:`MAX_LIST` items.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fraudguard.rules.errors import RuleError
from fraudguard.rules.fields import FIELDS, Kind

MAX_LENGTH = 2000
MAX_DEPTH = 20
MAX_NODES = 400
MAX_NUMBER = 1e15
MAX_STRING = 200
MAX_LIST = 100

_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_KIND_NAME = {"num": "a number", "str": "a string", "bool": "a boolean"}


@dataclass(frozen=True)
class Node:
    """A checked expression node; ``kind`` is the type it evaluates to."""

    kind: Kind


@dataclass(frozen=True)
class Field(Node):
    name: str


@dataclass(frozen=True)
class Const(Node):
    value: Any


@dataclass(frozen=True)
class Binary(Node):
    """Two operands and an operator: :class:`Arith` and :class:`Cmp` (which add no fields, so
    the dataclass methods made here serve them)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Unary(Node):
    """One operand: :class:`Neg` and :class:`Not` (no fields of their own either)."""

    operand: Node


class Arith(Binary):
    """``+ - * /`` on numbers."""


class Neg(Unary):
    """Unary minus on a number."""


class Cmp(Binary):
    """``== != < <= > >=``, to a boolean."""


@dataclass(frozen=True)
class In(Node):
    item: Node
    values: tuple[Any, ...]
    negate: bool


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # "and" | "or"
    items: tuple[Node, ...]


class Not(Unary):
    """``not`` of a boolean."""


def _where(node: ast.AST) -> tuple[int, int]:
    line = getattr(node, "lineno", 1)
    return line, getattr(node, "col_offset", 0) + (line != 1)  # line 1 holds the added "("


def _refuse(node: ast.AST, message: str) -> RuleError:
    line, col = _where(node)
    return RuleError(message, line, col)


class _Checker:
    def __init__(self, fields: Mapping[str, Kind]) -> None:
        self.fields = fields
        self.nodes = 0

    def expect(self, node: ast.AST, kind: Kind, depth: int) -> Node:
        out = self.check(node, depth)
        if out.kind != kind:
            raise _refuse(node, f"expected {_KIND_NAME[kind]}, got {_KIND_NAME[out.kind]}")
        return out

    def check(self, node: ast.AST, depth: int) -> Node:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise _refuse(node, f"nested deeper than {MAX_DEPTH} levels")
        if self.nodes > MAX_NODES:
            raise _refuse(node, f"more than {MAX_NODES} elements in one condition")
        d = depth + 1
        if isinstance(node, ast.BoolOp):
            joiner = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp("bool", joiner, tuple(self.expect(v, "bool", d) for v in node.values))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Not("bool", self.expect(node.operand, "bool", d))
            if isinstance(node.op, ast.USub):
                inner = self.expect(node.operand, "num", d)
                return Const("num", -inner.value) if isinstance(inner, Const) else Neg("num", inner)
            raise _refuse(node, f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.BinOp):
            op = _ARITH.get(type(node.op))
            if op is None:
                raise _refuse(node, f"operator {type(node.op).__name__} is not allowed (use + - * /)")
            return Arith("num", op, self.expect(node.left, "num", d), self.expect(node.right, "num", d))
        if isinstance(node, ast.Compare):
            return self.compare(node, d)
        if isinstance(node, ast.Name):
            kind = self.fields.get(node.id)
            if kind is None:
                raise _refuse(node, f"unknown field {node.id!r}")
            return Field(kind, node.id)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, (ast.Tuple, ast.List)):
            raise _refuse(node, "a list is only allowed after 'in' / 'not in'")
        if isinstance(node, ast.Call):
            raise _refuse(node, "function calls are not allowed")
        if isinstance(node, ast.Attribute):
            raise _refuse(node, "attribute access is not allowed")
        raise _refuse(node, f"{type(node).__name__} is not allowed in a rule condition")

    def constant(self, node: ast.Constant) -> Const:
        v = node.value
        if isinstance(v, bool):
            return Const("bool", v)
        if isinstance(v, int | float):
            if not math.isfinite(v) or abs(v) > MAX_NUMBER:
                raise _refuse(node, f"number out of range (at most {MAX_NUMBER:g} in absolute value)")
            return Const("num", float(v))
        if isinstance(v, str):
            if len(v) > MAX_STRING:
                raise _refuse(node, f"string longer than {MAX_STRING} characters")
            return Const("str", v)
        raise _refuse(node, f"literal of type {type(v).__name__} is not allowed")

    def compare(self, node: ast.Compare, depth: int) -> Node:
        parts: list[Node] = []
        left = self.check(node.left, depth)
        for op, right_ast in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if len(node.ops) > 1:
                    raise _refuse(node, "'in' cannot be chained with other comparisons; use 'and'")
                parts.append(self.membership(node, left, right_ast, isinstance(op, ast.NotIn)))
                continue
            name = _CMP.get(type(op))
            if name is None:
                raise _refuse(node, f"comparison {type(op).__name__} is not allowed")
            right = self.check(right_ast, depth)
            if left.kind != right.kind:
                raise _refuse(right_ast, f"cannot compare {_KIND_NAME[left.kind]} with {_KIND_NAME[right.kind]}")
            if left.kind != "num" and name not in ("==", "!="):
                raise _refuse(right_ast, f"'{name}' needs numbers, got {_KIND_NAME[left.kind]}")
            parts.append(Cmp("bool", name, left, right))
            left = right
        return parts[0] if len(parts) == 1 else BoolOp("bool", "and", tuple(parts))

    def membership(self, node: ast.Compare, item: Node, right: ast.AST, negate: bool) -> In:
        if not isinstance(right, ast.Tuple | ast.List):
            raise _refuse(right, "'in' needs a literal list, e.g. merchant_category in ('jewelry', 'electronics')")
        if len(right.elts) > MAX_LIST:
            raise _refuse(right, f"list longer than {MAX_LIST} items")
        if item.kind == "bool":
            raise _refuse(node, "'in' needs a number or a string on its left")
        values: list[Any] = []
        for elt in right.elts:
            self.nodes += 1
            c = self.constant(elt) if isinstance(elt, ast.Constant) else None
            if c is None:
                raise _refuse(elt, "list items must be literals")
            if c.kind != item.kind:
                raise _refuse(elt, f"list item is {_KIND_NAME[c.kind]}, the left side {_KIND_NAME[item.kind]}")
            values.append(c.value)
        return In("bool", item, tuple(values), negate)


def parse_condition(text: str, fields: Mapping[str, Kind] | None = None) -> Node:
    """Parse and check a condition; raises :class:`RuleError` naming line and column.

    The condition must be a boolean: ``amount`` alone is refused, ``amount > 0`` is not.
    """
    if not isinstance(text, str) or not text.strip():
        raise RuleError("the condition is empty")
    if len(text) > MAX_LENGTH:
        raise RuleError(
            f"the condition is {len(text)} characters long, at most {MAX_LENGTH} allowed", 1, MAX_LENGTH + 1
        )
    if "\x00" in text:
        raise RuleError("NUL character in the condition", 1, text.index("\x00") + 1)
    try:  # parenthesised so a condition may span lines; line 1 columns shift back by one
        tree = ast.parse(f"({text})", mode="eval")
    except SyntaxError as e:
        line = e.lineno or 1
        raise RuleError(f"syntax error: {e.msg}", line, max(1, (e.offset or 1) - (line == 1))) from e
    except (RecursionError, MemoryError, ValueError) as e:
        raise RuleError(f"cannot parse: {type(e).__name__}") from e
    checker = _Checker(FIELDS if fields is None else fields)
    try:
        return checker.expect(tree.body, "bool", 0)
    except RecursionError as e:  # pragma: no cover - MAX_DEPTH stops far earlier
        raise RuleError(f"nested deeper than {MAX_DEPTH} levels") from e


def field_names(node: Node) -> set[str]:
    """Every field a checked condition reads (the columns an evaluator must supply)."""
    if isinstance(node, Field):
        return {node.name}
    out: set[str] = set()
    for child in (getattr(node, a, None) for a in ("left", "right", "operand", "item")):
        if isinstance(child, Node):
            out |= field_names(child)
    for child in getattr(node, "items", ()):
        out |= field_names(child)
    return out
