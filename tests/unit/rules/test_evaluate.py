"""Vectorised evaluation gives, row for row, what the plain-Python reference gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudguard.rules import evaluate, evaluate_row, frame_columns, parse_condition

CATEGORIES = ["jewelry", "electronics", "grocery", None]

numbers = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan), st.integers(-5, 5).map(float))
num_leaf = st.one_of(
    st.sampled_from(["amount", "score_xgboost", "score_ensemble", "card_count_1h"]),
    st.integers(-3, 2000).map(str),
    st.sampled_from(["0.5", "0", "1e3"]),
)


def num_expr(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return num_leaf
    sub = num_expr(depth - 1)
    return st.one_of(sub, st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(lambda t: f"({' '.join(t)})"))


def bool_expr(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.tuples(num_expr(1), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), num_expr(1)).map(" ".join),
        st.just("card_present"),
        st.tuples(st.sampled_from(["==", "!="]), st.sampled_from(["'jewelry'", "'grocery'", "channel"])).map(
            lambda t: f"merchant_category {t[0]} {t[1]}"
        ),
        st.sampled_from(["in", "not in"]).map(lambda op: f"merchant_category {op} ('jewelry', 'electronics')"),
        st.sampled_from(["in", "not in"]).map(lambda op: f"amount {op} (1, 2, 3)"),
    )
    if depth == 0:
        return leaf
    sub = bool_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({' '.join(t)})"),
        sub.map(lambda s: f"not ({s})"),
    )


rows = st.fixed_dictionaries(
    {
        "amount": numbers,
        "score_xgboost": numbers,
        "ensemble_score": numbers,
        "card_count_1h": numbers,
        "card_present": st.booleans(),
        "merchant_category": st.sampled_from(CATEGORIES),
        "channel": st.sampled_from(["online", "pos", None, "jewelry"]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=bool_expr(3), data=st.lists(rows, min_size=1, max_size=30))
def test_vectorised_equals_row_wise(condition: str, data: list[dict]) -> None:
    node = parse_condition(condition)
    frame = pd.DataFrame(data)
    mask = evaluate(node, frame_columns(frame), len(frame))
    expected = [bool(evaluate_row(node, row)) for row in data]
    assert mask.tolist() == expected, condition


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("amount > 100", [True, False, False, False]),
        ("amount != 100", [True, False, True, True]),  # NaN != x is true, like SQL's IS DISTINCT
        ("merchant_category in ('jewelry', 'electronics')", [True, True, False, False]),
        ("merchant_category not in ('jewelry',)", [False, True, True, True]),
        ("merchant_category != 'jewelry'", [False, True, True, True]),
        ("not card_present and score_ensemble >= 0.5", [True, False, False, False]),
        ("amount / 0 > 1", [True, True, False, False]),  # inf / nan, never an exception
    ],
)
def test_hand_checked_values(condition: str, expected: list[bool]) -> None:
    frame = pd.DataFrame(
        {
            "amount": [500.0, 100.0, 0.0, np.nan],
            "merchant_category": ["jewelry", "electronics", "grocery", None],
            "card_present": [False, True, False, True],
            "ensemble_score": [0.9, 0.9, 0.1, 0.7],
        }
    )
    node = parse_condition(condition)
    assert evaluate(node, frame_columns(frame), 4).tolist() == expected
    assert [bool(evaluate_row(node, r)) for r in frame.to_dict("records")] == expected


def test_empty_batch_and_missing_column() -> None:
    node = parse_condition("amount > 1")
    assert evaluate(node, frame_columns(pd.DataFrame({"amount": []})), 0).tolist() == []
    with pytest.raises(KeyError):
        evaluate(node, frame_columns(pd.DataFrame({"other": [1.0]})), 1)
