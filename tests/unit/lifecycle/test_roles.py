"""Champion / challenger roles, the promotion gate, forced promotion and rollback, all audited."""

from __future__ import annotations

import pytest

from fraudguard.errors import ModelError
from fraudguard.models import lifecycle as lc
from fraudguard.models.registry import current_version


def _report(champion: str, challenger: str, champ_auc: float, chall_auc: float) -> dict:
    return {"window": {"from": "a", "to": "b"}, "labelled": 100, "pr_auc": {champion: champ_auc, challenger: chall_auc}}


def test_champion_is_current_and_challengers_are_separate(three_versions):
    root, (a, b, c) = three_versions
    lc.add_challenger(root, b, actor="t")
    lc.add_challenger(root, c, actor="t")
    lc.add_challenger(root, a, actor="t")  # the champion never becomes its own challenger
    roles = lc.read_roles(root)
    assert roles.champion == a == current_version(root)
    assert roles.challengers == [b, c]
    lc.remove_challenger(root, c, actor="t")
    assert lc.read_roles(root).challengers == [b]


def test_gate_refuses_a_worse_model_and_audits_the_refusal(three_versions):
    root, (a, b, _c) = three_versions
    lc.add_challenger(root, b, actor="t")
    lc.write_evaluation(root, b, _report(a, b, 0.80, 0.70))
    with pytest.raises(lc.PromotionRefused, match="worse than the margin"):
        lc.promote(root, b, actor="alice", margin=0.05)
    assert current_version(root) == a
    last = lc.read_audit(root)[-1]
    assert last["action"] == "promote-refused" and last["actor"] == "alice"


def test_gate_passes_within_margin_and_rollback_restores(three_versions):
    root, (a, b, _c) = three_versions
    lc.add_challenger(root, b, actor="t")
    lc.write_evaluation(root, b, _report(a, b, 0.80, 0.795))
    entry = lc.promote(root, b, actor="alice", margin=0.01)
    assert entry["forced"] is False and entry["previous"] == a
    roles = lc.read_roles(root)
    assert roles.champion == b == current_version(root) and roles.challengers == [] and roles.history == [a]
    back = lc.rollback(root, actor="bob")
    assert back["version"] == a and back["previous"] == b
    assert current_version(root) == a
    with pytest.raises(ModelError, match="no previous champion"):
        lc.rollback(root, actor="bob")


def test_force_overrides_and_is_audited(three_versions):
    root, (_a, _b, c) = three_versions
    with pytest.raises(lc.PromotionRefused, match="no evaluation report"):
        lc.promote(root, c, actor="alice")
    entry = lc.promote(root, c, actor="alice", force=True)
    assert entry["forced"] is True and current_version(root) == c
    assert [e["action"] for e in lc.read_audit(root)] == ["promote-refused", "promote"]


def test_report_against_an_older_champion_does_not_count(three_versions):
    root, (_a, b, c) = three_versions
    lc.write_evaluation(root, c, _report(b, c, 0.5, 0.9))  # compared with b, but a is champion
    result = lc.gate(root, c)
    assert not result["passed"] and "does not compare" in result["reason"]


def test_bad_inputs_are_refused(three_versions):
    root, (a, _b, _c) = three_versions
    with pytest.raises(ModelError, match="not a model version"):
        lc.promote(root, "../etc", actor="x")
    with pytest.raises(ModelError, match="not found"):
        lc.add_challenger(root, "v20990101-000000-deadbeef", actor="x")
    with pytest.raises(ModelError, match="already the champion"):
        lc.promote(root, a, actor="x", force=True)
    with pytest.raises(ModelError, match="margin"):
        lc.gate(root, a, margin=-1)
