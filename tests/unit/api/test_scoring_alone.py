"""A lone ``POST /v1/score`` transaction skips every frame and answers what the frame path answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fraudguard import schema
from fraudguard.api.idempotency import StoredPrediction
from fraudguard.api.scoring import ScoringService
from fraudguard.features import FeaturePipeline
from fraudguard.generator import generate_frame
from fraudguard.models.scorer import Scorer
from fraudguard.rules.ruleset import RuleSet
from tests.browser.stack import train_tiny_model


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    root = tmp_path_factory.mktemp("alone-model")
    train_tiny_model(Path(root), rows=3_000)
    return Scorer.load(root)


def _plain(p: schema.Prediction) -> dict[str, Any]:
    out = {f: getattr(p, f) for f in p.__struct_fields__}
    out.pop("scored_at"), out.pop("produced_at")
    return out


class CountingRules:
    """A stand-in for :class:`~fraudguard.io.rule_watcher.RuleWatcher` whose store holds no rule."""

    current = RuleSet()
    checks = 0

    def check(self) -> bool:
        self.checks += 1
        return False


class FramelessPipeline(FeaturePipeline):
    """The service's pipeline, refusing frames: a lone call must never need one."""

    frames = 0

    def transform(self, frame, update=True):  # type: ignore[no-untyped-def]
        self.frames += 1
        return super().transform(frame, update)


def test_lone_calls_equal_the_frame_path_and_leave_the_same_state(scorer: Scorer) -> None:
    rules = CountingRules()
    pipe = FramelessPipeline(scorer.feature_config)
    service = ScoringService(scorer, pipe, rules=rules)
    ref = scorer.make_pipeline()
    ref.single_row = False
    txs = schema.from_frame(generate_frame(300, fraud_rate=0.3, seed=8, start=datetime(2026, 8, 1, tzinfo=UTC)))
    for i, tx in enumerate(txs):
        record = i % 3 != 0
        [[got]] = service.process([([tx], record)])
        want = scorer.score_batch([tx], ref, update=record)[0]
        assert _plain(got) == _plain(want), i
        assert got.produced_at is not None and got.scored_at is not None
    assert rules.checks == len(txs)  # rules are still looked at on every call
    assert pipe.frames == 0
    service.process([(txs[:2], False)])  # two transactions: the frame path
    assert pipe.frames == 1
    assert service.pipeline.card_store.snapshot() == ref.card_store.snapshot()  # type: ignore[attr-defined]
    assert service.pipeline.merchant_store.snapshot() == ref.merchant_store.snapshot()  # type: ignore[attr-defined]
    assert service.pipeline.stats()["rows"] == ref.stats()["rows"] == sum(i % 3 != 0 for i in range(len(txs)))
    # an id recorded before and posted again is answered from the log, not scored again
    [[again]] = service.process([([txs[1]], True)])
    assert isinstance(again, StoredPrediction) and again.transaction_id == txs[1].transaction_id
    assert service.pipeline.stats()["rows"] == ref.stats()["rows"]


def test_lone_what_ifs_are_scored_as_lone_calls_however_many(scorer: Scorer) -> None:
    pipe = FramelessPipeline(scorer.feature_config)
    service = ScoringService(scorer, pipe)
    ref = scorer.make_pipeline()
    ref.single_row = False
    txs = schema.from_frame(generate_frame(120, fraud_rate=0.3, seed=9, start=datetime(2026, 8, 3, tzinfo=UTC)))
    for tx in txs[:40]:  # some history first, recorded on both sides
        service.process([([tx], True)])
        scorer.score_batch([tx], ref)
    rest = txs[40:]
    parts = [rest[s : s + 7] + rest[s : s + 1] for s in range(0, len(rest), 7)]  # the same card twice
    parts.append(rest + rest[:30])  # one batch of 110, as at 200 connections
    for part in parts:
        got = service.process([([t], False) for t in part])
        want = [scorer.score_batch([t], ref, update=False) for t in part]
        assert [[_plain(p) for p in g] for g in got] == [[_plain(p) for p in w] for w in want]
    assert pipe.frames == 0
    service.process([([rest[0]], False), ([rest[1]], True)])  # a recorded one among them: the frame path
    assert pipe.frames == 3  # recorded rows, the what-if, then the recorded rows' state
