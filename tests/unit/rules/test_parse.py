"""The rule parser: what it accepts, and hostile or broken input refused with a position."""

from __future__ import annotations

import pytest

from fraudguard.rules import RuleError, parse_condition
from fraudguard.rules.parse import MAX_LENGTH, BoolOp, Cmp, In, Not, field_names

GOOD = [
    "amount > 1000 and card_count_1h >= 5 and score_ensemble > 0.3",
    "merchant_category in ('jewelry','electronics') and not card_present",
    "channel == 'online' or amount * 2 - 10 >= 3000",
    "0.2 < score_xgboost <= 0.9",
    "merchant_category not in ['grocery'] and -amount < -5",
    "card_present == True",
    "amount / 3 > card_amount_1h",
]


@pytest.mark.parametrize("text", GOOD)
def test_accepts_the_documented_language(text: str) -> None:
    node = parse_condition(text)
    assert node.kind == "bool"


def test_tree_shape() -> None:
    node = parse_condition("merchant_category in ('jewelry','electronics') and not card_present")
    assert isinstance(node, BoolOp) and node.op == "and"
    assert isinstance(node.items[0], In) and node.items[0].values == ("jewelry", "electronics")
    assert isinstance(node.items[1], Not)
    chain = parse_condition("0.2 < score_xgboost <= 0.9")
    assert isinstance(chain, BoolOp) and all(isinstance(c, Cmp) for c in chain.items)
    assert field_names(parse_condition(GOOD[0])) == {"amount", "card_count_1h", "score_ensemble"}


HOSTILE = [
    ("__import__('os').system('id')", "function calls are not allowed", 1),
    ("amount.real > 1", "attribute access is not allowed", 1),
    ("().__class__.__bases__", "attribute access", 1),
    ("amount > 1 and open('/etc/passwd')", "function calls", 16),
    ("amount[0] > 1", "Subscript is not allowed", 1),
    ("(lambda: 1)() > 0", "function calls", 1),
    ("[x for x in (1,)] == 1", "ListComp", 1),
    ("amount > 10**10**10", "BinOp|Pow", 10),
    ("amount > 1" + "0" * 40, "number out of range", 10),
    ("merchant_category == '" + "x" * 500 + "'", "string longer", 22),
    ("not " * 40 + "card_present", "nested deeper", None),
    ("amout > 10", "unknown field 'amout'", 1),
    ("__builtins__ > 1", "unknown field '__builtins__'", 1),
    ("amount > 'big'", "cannot compare a number with a string", 10),
    ("merchant_category > 'a'", "'>' needs numbers", 21),
    ("amount", "expected a boolean, got a number", 1),
    ("card_present and amount", "expected a boolean", 18),
    ("merchant_category in (1, 2)", "list item is a number", 23),
    ("amount in merchant_category", "needs a literal list", 11),
    ("amount > 1 and", "syntax error", None),
    ("amount = 1", "syntax error", None),
    ("", "empty", 1),
    ("amount > b'x'", "literal of type bytes", 10),
    ("merchant_category in (" + ",".join(["'a'"] * 101) + ")", "list longer", 22),
    ("amount > 1 if card_present else 0", "IfExp is not allowed", 1),
    ("x := 1", "NamedExpr is not allowed", 1),
]


@pytest.mark.parametrize(("text", "message", "col"), HOSTILE)
def test_refuses_with_position(text: str, message: str, col: int | None) -> None:
    with pytest.raises(RuleError) as info:
        parse_condition(text)
    err = info.value
    import re

    assert re.search(message, err.message), err.message
    assert err.field == "condition"
    assert str(err).startswith(f"condition: line {err.line}, column {err.col}:")
    if col is not None:
        assert err.col == col


def test_over_long_and_deep_parentheses_refused() -> None:
    with pytest.raises(RuleError, match=f"at most {MAX_LENGTH}"):
        parse_condition("amount > 1 or " * 200 + "amount > 1")
    with pytest.raises(RuleError):
        parse_condition("(" * 300 + "amount > 1" + ")" * 300)  # Python's own parser limit
    with pytest.raises(RuleError, match="more than"):
        parse_condition(" or ".join(["amount > 1"] * 140))


def test_multiline_positions() -> None:
    with pytest.raises(RuleError) as info:
        parse_condition("amount > 1 and\n  bogus < 3")
    assert (info.value.line, info.value.col) == (2, 3)


def test_custom_field_table() -> None:
    assert parse_condition("v1 > 0", {"v1": "num"}).kind == "bool"
    with pytest.raises(RuleError, match="unknown field 'amount'"):
        parse_condition("amount > 0", {"v1": "num"})
