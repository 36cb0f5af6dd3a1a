"""Analyst rules beside the models: a safe condition language, vectorised evaluation, decisions.

Pure: no I/O here. Storage is :mod:`fraudguard.io.pg_rules`, the backtest
:mod:`fraudguard.io.backtest`.
"""

from fraudguard.records import RULE_COLUMNS
from fraudguard.rules.errors import RuleError
from fraudguard.rules.evaluate import evaluate, evaluate_row, frame_columns
from fraudguard.rules.fields import FIELDS, default_fields
from fraudguard.rules.parse import parse_condition
from fraudguard.rules.ruleset import ACTIONS, STATES, Rule, RuleSet

__all__ = [
    "ACTIONS",
    "FIELDS",
    "RULE_COLUMNS",
    "STATES",
    "Rule",
    "RuleError",
    "RuleSet",
    "default_fields",
    "evaluate",
    "evaluate_row",
    "frame_columns",
    "parse_condition",
]
