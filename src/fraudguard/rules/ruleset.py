"""Rules and the decision they make beside the model.

A :class:`Rule` is a name, a checked condition, an action (``allow``, ``review``,
``block``), a priority, an owner and a state (``draft``, ``shadow``, ``active``).
:class:`RuleSet` is the immutable set an engine uses for one batch: :meth:`RuleSet.apply`
adds the rule columns to a prediction frame.

The final decision is the action of the highest-priority *active* rule that matches
(ties: the lower rule id, i.e. the older rule), else the model's threshold. ``block``
and ``review`` make the prediction ``fraud`` (an alert that an analyst sees; the action
column tells them apart), ``allow`` makes it ``legit``. Shadow rules are evaluated and
recorded in ``shadow_rule_ids`` but never decide; drafts are not evaluated at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from fraudguard.rules.errors import RuleError
from fraudguard.rules.evaluate import Columns, evaluate, frame_columns
from fraudguard.rules.fields import Kind
from fraudguard.rules.parse import Node, parse_condition

Action = Literal["allow", "review", "block"]
State = Literal["draft", "shadow", "active"]
ACTIONS: tuple[str, ...] = ("allow", "review", "block")
STATES: tuple[str, ...] = ("draft", "shadow", "active")
_DECISION = {"allow": "legit", "review": "fraud", "block": "fraud"}
MAX_NAME = 120


@dataclass(frozen=True)
class Rule:
    """One version of a rule. ``id`` is stable across versions; ``version`` counts edits."""

    id: int
    name: str
    condition: str
    action: str
    priority: int = 0
    owner: str = ""
    state: str = "draft"
    version: int = 1
    node: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rule_fields(self.name, self.action, self.state, self.priority)
        object.__setattr__(self, "node", parse_condition(self.condition))

    def compiled(self, fields: Mapping[str, Kind]) -> Node:
        """The condition checked against another field table (e.g. the backtest's)."""
        return parse_condition(self.condition, fields)


def check_rule_fields(name: str, action: str, state: str, priority: int) -> None:
    """Refuse a bad name, action, state or priority with the field named."""
    if not name or not name.strip() or len(name) > MAX_NAME:
        raise RuleError(f"must be 1 to {MAX_NAME} characters", field="name")
    if action not in ACTIONS:
        raise RuleError(f"{action!r} is not one of {', '.join(ACTIONS)}", field="action")
    if state not in STATES:
        raise RuleError(f"{state!r} is not one of {', '.join(STATES)}", field="state")
    if not -1_000_000 <= priority <= 1_000_000:
        raise RuleError("must be between -1000000 and 1000000", field="priority")


@dataclass(frozen=True)
class RuleSet:
    """The rules in force for a batch; ``version`` is the store's change counter."""

    rules: tuple[Rule, ...] = ()
    version: int = 0

    @classmethod
    def of(cls, rules: Iterable[Rule], version: int = 0) -> RuleSet:
        """Keep active and shadow rules, active ones ordered by decision precedence."""
        live = [r for r in rules if r.state in ("active", "shadow")]
        live.sort(key=lambda r: (r.state != "active", -r.priority, r.id))
        return cls(tuple(live), version)

    @property
    def active(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.state == "active")

    @property
    def shadow(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.state == "shadow")

    def usable(self, columns: Iterable[str]) -> tuple[RuleSet, list[Rule]]:
        """The rules whose every field is among ``columns``, and the ones left out.

        For an engine that only has part of the columns at hand (Spark decides on the
        driver, where the feature columns are gone).
        """
        from fraudguard.rules.fields import column_of
        from fraudguard.rules.parse import field_names

        have = set(columns)
        keep = [r for r in self.rules if all(column_of(f) in have for f in field_names(r.node))]
        return RuleSet(tuple(keep), self.version), [r for r in self.rules if r not in keep]

    def matches(self, get: Columns, n: int) -> dict[int, np.ndarray]:
        """Rule id -> boolean mask, for every active and shadow rule."""
        return {r.id: evaluate(r.node, get, n) for r in self.rules}

    def apply(self, predictions: pd.DataFrame, *context: pd.DataFrame) -> pd.DataFrame:
        """The prediction frame with the rule columns filled and the decision overridden.

        ``context`` frames (features, the transaction frame) supply fields the prediction
        frame lacks; all must be row-aligned with ``predictions``.
        """
        n = len(predictions)
        out = predictions.copy(deep=False)
        empty: list[list[str]] = [[] for _ in range(n)]
        if not self.rules or n == 0:
            out["rule_ids"], out["rule_action"], out["shadow_rule_ids"] = empty, np.full(n, None, object), empty
            return out
        masks = self.matches(frame_columns(predictions, *context), n)
        out["rule_ids"] = _ids_per_row([r for r in self.active], masks, n)
        out["shadow_rule_ids"] = _ids_per_row([r for r in self.shadow], masks, n)
        action = np.full(n, None, dtype=object)
        decided = np.zeros(n, dtype=bool)
        decision = out["decision"].to_numpy(dtype=object).copy()
        reasons: list[Any] = list(out["reasons"])
        for rule in self.active:  # precedence order: the first that matches a row decides it
            take = masks[rule.id] & ~decided
            if not take.any():
                continue
            action[take] = rule.action
            decision[take] = _DECISION[rule.action]
            for i in np.flatnonzero(take).tolist():
                reasons[i] = [f"rule:{rule.name}", *reasons[i]]
            decided |= take
        out["rule_action"] = action
        out["decision"] = decision
        out["reasons"] = reasons
        return out


def _ids_per_row(rules: list[Rule], masks: dict[int, np.ndarray], n: int) -> list[list[str]]:
    out: list[list[str]] = [[] for _ in range(n)]
    for rule in rules:
        rid = str(rule.id)
        for i in np.flatnonzero(masks[rule.id]).tolist():
            out[i].append(rid)
    return out
