"""One transaction through ``models/single.py`` decides exactly what the batch scorer decides."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from fraudguard import schema
from fraudguard.errors import ModelError
from fraudguard.generator import generate_frame
from fraudguard.models.scorer import Scorer
from fraudguard.models.single import SingleScorer, score_transaction, single_scorer


@pytest.fixture(scope="module", params=[True, False], ids=["compiled", "library"])
def scorer(request, registry) -> Scorer:
    root, _ = registry
    return Scorer.load(root, compiled=request.param)


def test_decide_equals_batch_decide_on_every_row(scorer: Scorer, small_data) -> None:
    _, features = small_data
    x = scorer.matrix(features)
    want = scorer.decide(x)
    one = SingleScorer(scorer)
    got = [one.decide(x[i]) for i in range(len(x))]
    assert want.fraud.sum() > 20  # fraud rows (reason codes) are covered
    assert [g[0] for g in got] == want.base.tolist()  # bit for bit, not approximately
    assert [g[1] for g in got] == want.ensemble.tolist()
    assert [g[2] for g in got] == want.fraud.tolist()
    assert [g[3] for g in got] == want.reasons
    assert scorer.compiled == (one.graph is not None)


def test_prediction_equals_prediction_list(scorer: Scorer, small_data) -> None:
    frame, features = small_data
    txs = schema.from_frame(frame.iloc[:300])
    when, produced = datetime(2026, 5, 1, 12, tzinfo=UTC), datetime(2026, 5, 1, 11, 59, tzinfo=UTC)
    want = scorer.prediction_list(txs, features.iloc[:300], produced_at=produced, scored_at=when)
    one = single_scorer(scorer)
    assert single_scorer(scorer) is one
    names = list(features.columns)
    got = [
        one.prediction(t, features.iloc[i].to_numpy(np.float32), names, produced_at=produced, scored_at=when)
        for i, t in enumerate(txs)
    ]
    assert [schema.encode(p) for p in got] == [schema.encode(p) for p in want]


def test_features_are_taken_by_name(scorer: Scorer, small_data) -> None:
    _, features = small_data
    one = SingleScorer(scorer)
    row = features.iloc[7]
    shuffled = ["x_unused", *reversed(features.columns)]
    values = np.array([42.0, *reversed(row.to_numpy(np.float32))], np.float32)
    assert one.decide(one.matrix_row(values, shuffled)) == one.decide(row.to_numpy(np.float32))
    with pytest.raises(ModelError, match="features missing"):
        one.matrix_row(values[:3], shuffled[:3])


def test_concurrent_callers_share_the_bound_buffers_safely(scorer: Scorer, small_data) -> None:
    _, features = small_data
    x = scorer.matrix(features)[:400]
    one = SingleScorer(scorer)
    want = [one.decide(r) for r in x]
    out: dict[int, list] = {}

    def work(k: int) -> None:
        out[k] = [one.decide(r) for r in x[k::4]]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        assert out[k] == want[k::4]


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.browser.stack import train_tiny_model

    root = tmp_path_factory.mktemp("single-model")
    train_tiny_model(root, rows=3_000)
    return root


def test_score_transaction_equals_score_batch_of_one(real_model: Path) -> None:
    """Features, models, decision and state: the whole single path against ``score_batch``."""
    scorer = Scorer.load(real_model)
    ref, mine = scorer.make_pipeline(), scorer.make_pipeline()
    ref.single_row = False
    txs = schema.from_frame(generate_frame(400, fraud_rate=0.3, seed=21, start=datetime(2026, 7, 1, tzinfo=UTC)))
    when = datetime(2026, 7, 9, tzinfo=UTC)
    decisions = []
    for i, tx in enumerate(txs):
        update = i % 7 != 3
        want = scorer.score_batch([tx], ref, update=update)[0]
        got = score_transaction(scorer, mine, tx, update=update, scored_at=when)
        want.scored_at = when
        assert schema.encode(got) == schema.encode(want), i
        decisions.append(got.decision)
    assert "fraud" in decisions and "legit" in decisions
    assert mine.card_store.snapshot() == ref.card_store.snapshot()  # type: ignore[attr-defined]
    assert mine.merchant_store.snapshot() == ref.merchant_store.snapshot()  # type: ignore[attr-defined]
    assert mine.stats() == ref.stats()


def test_calibration_of_one_value_is_np_interp(scorer: Scorer) -> None:
    cal, one = scorer.models.calibration, SingleScorer(scorer)
    lo, hi = float(cal.knots[0]), float(cal.knots[-1])
    xs = [*cal.knots.tolist(), lo - 1.0, hi + 1.0, lo, hi, *np.linspace(lo - 0.01, hi + 0.01, 20_000).tolist()]
    assert [one.calibrate(x) for x in xs] == cal(np.array(xs)).tolist()
