"""``Scorer.prediction_list`` gives the records of ``score_frame`` + ``prediction_records``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pandas as pd
import pytest

from fraudguard import schema
from fraudguard.errors import ModelError
from fraudguard.models.scorer import Scorer


@pytest.fixture(scope="module")
def scorer(registry) -> Scorer:
    root, _ = registry
    return Scorer.load(root)


def test_prediction_list_equals_the_frame_path(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    part, feats = frame.iloc[:600], features.iloc[:600]
    txs = schema.from_frame(part)
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    produced = datetime(2026, 5, 1, 11, 59, tzinfo=UTC)
    framed = part.assign(produced_at=produced)
    want = schema.prediction_records(scorer.score_frame(framed, feats, scored_at=pd.Timestamp(when)))
    got = scorer.prediction_list(txs, feats, produced_at=produced, scored_at=when)
    assert any(p.decision == "fraud" and p.reasons for p in got)
    assert [schema.encode(p) for p in got] == [schema.encode(p) for p in want]
    one = [
        scorer.prediction_list([t], feats.iloc[[i]], produced_at=produced, scored_at=when)[0]
        for i, t in enumerate(txs[:50])
    ]
    assert [schema.encode(p) for p in one] == [schema.encode(p) for p in want[:50]]


def test_prediction_list_normalises_event_time_and_refuses_misaligned_input(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    tx = schema.from_frame(frame.iloc[:1])[0]
    local = tx.event_time.astimezone(timezone(timedelta(hours=5)))

    moved = msgspec.structs.replace(tx, event_time=local)
    naive = msgspec.structs.replace(tx, event_time=tx.event_time.astimezone(UTC).replace(tzinfo=None))
    for t in (moved, naive):
        p = scorer.prediction_list([t], features.iloc[:1])[0]
        assert p.event_time == tx.event_time and p.event_time.tzinfo is UTC
    with pytest.raises(ModelError, match="feature rows"):
        scorer.prediction_list([tx, tx], features.iloc[:1])
