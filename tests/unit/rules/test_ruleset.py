"""Decisions: the highest-priority matching active rule decides, else the model; shadows only record."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudguard.rules import Rule, RuleError, RuleSet
from fraudguard.schema import PREDICTION_COLUMNS


def predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": ["a", "b", "c", "d"],
            "amount": [5000.0, 20.0, 1500.0, 3.0],
            "merchant_category": ["jewelry", "grocery", "electronics", "grocery"],
            "ensemble_score": [0.2, 0.95, 0.5, 0.1],
            "decision": ["legit", "fraud", "legit", "legit"],
            "reasons": [[], ["velocity_1h"], [], []],
            "rule_ids": [[], [], [], []],
            "rule_action": [None] * 4,
            "shadow_rule_ids": [[], [], [], []],
        }
    )


def features() -> pd.DataFrame:
    return pd.DataFrame({"card_count_1h": [6.0, 1.0, 9.0, 0.0], "card_present": [False, True, True, False]})


def test_priority_order_decides_and_shadow_only_records() -> None:
    rules = RuleSet.of(
        [
            Rule(1, "big", "amount > 1000", "review", priority=10, state="active"),
            Rule(2, "allow-groceries", "merchant_category == 'grocery'", "allow", priority=50, state="active"),
            Rule(3, "velocity", "amount > 1000 and card_count_1h >= 5", "block", priority=100, state="active"),
            Rule(4, "not-present", "not card_present", "block", priority=1000, state="shadow"),
            Rule(5, "draft", "amount > 0", "block", priority=9999, state="draft"),
        ]
    )
    out = rules.apply(predictions(), features())
    assert out["rule_ids"].tolist() == [["3", "1"], ["2"], ["3", "1"], ["2"]]
    assert out["rule_action"].tolist() == ["block", "allow", "block", "allow"]
    assert out["decision"].tolist() == ["fraud", "legit", "fraud", "legit"]  # b: the rule overrides the model
    assert out["shadow_rule_ids"].tolist() == [["4"], [], [], ["4"]]
    assert out["reasons"].tolist()[0] == ["rule:velocity"]
    assert out["reasons"].tolist()[1] == ["rule:allow-groceries", "velocity_1h"]


def test_no_match_keeps_the_model_decision_and_input_is_not_mutated() -> None:
    before = predictions()
    out = RuleSet.of([Rule(1, "never", "amount > 1e9", "block", state="active")]).apply(before, features())
    assert out["decision"].tolist() == before["decision"].tolist()
    assert out["rule_action"].tolist() == [None] * 4
    assert before["rule_ids"].tolist() == [[], [], [], []]


def test_equal_priority_older_rule_wins() -> None:
    rs = RuleSet.of(
        [
            Rule(8, "new", "amount > 1000", "allow", priority=5, state="active"),
            Rule(2, "old", "amount > 1000", "block", priority=5, state="active"),
        ]
    )
    assert rs.apply(predictions(), features())["rule_action"].tolist()[0] == "block"


def test_empty_ruleset_fills_empty_columns() -> None:
    out = RuleSet().apply(predictions())
    assert out["rule_ids"].tolist() == [[]] * 4 and out["rule_action"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "deny"}, "action"),
        ({"state": "on"}, "state"),
        ({"name": ""}, "name"),
        ({"priority": 10**9}, "priority"),
        ({"condition": "amount >"}, "condition"),
    ],
)
def test_bad_rules_refused_naming_the_field(kwargs: dict, field: str) -> None:
    base = {"id": 1, "name": "r", "condition": "amount > 1", "action": "block"}
    with pytest.raises(RuleError) as info:
        Rule(**{**base, **kwargs})
    assert info.value.field == field


def test_rule_columns_are_prediction_columns() -> None:
    assert {"rule_ids", "rule_action", "shadow_rule_ids"} <= set(PREDICTION_COLUMNS)


def test_usable_leaves_out_rules_on_missing_columns() -> None:
    rs = RuleSet.of(
        [
            Rule(1, "amount", "amount > 1", "block", state="active"),
            Rule(2, "feature", "card_count_1h > 1 and amount > 1", "block", state="active"),
            Rule(3, "score", "score_ensemble > 0.5", "review", state="shadow"),
        ]
    )
    usable, skipped = rs.usable(["amount", "ensemble_score"])
    assert [r.id for r in usable.rules] == [1, 3] and [r.id for r in skipped] == [2]
