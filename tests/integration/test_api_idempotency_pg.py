"""Idempotency survives an API restart: a recorded id is found in PostgreSQL, not scored again."""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException

from fraudguard.api.idempotency import StoredPrediction
from fraudguard.api.scoring import ScoringService
from fraudguard.bench.fuzz import VALID
from fraudguard.io.pg_sink import PostgresSink
from fraudguard.io.postgres import connect
from fraudguard.schema import decode_transaction
from tests.browser.stack import train_tiny_model


def _service(models: Path, url: str) -> ScoringService:
    from fraudguard.models.scorer import Scorer

    scorer = Scorer.load(models)
    return ScoringService(scorer, scorer.make_pipeline(), sink=PostgresSink(url))


def test_a_restarted_api_answers_the_stored_decision(pg_db: str, tmp_path: Path) -> None:
    train_tiny_model(tmp_path / "models", rows=2_000)
    tx = decode_transaction(VALID.replace(b'"t-1"', b'"pg-idem-1"'))
    first = _service(tmp_path / "models", pg_db)
    ((p1,),) = first.process([([tx], True)])
    assert not isinstance(p1, StoredPrediction)

    restarted = _service(tmp_path / "models", pg_db)  # empty in-memory log: PostgreSQL is asked
    ((again,),) = restarted.process([([tx], True)])
    assert isinstance(again, StoredPrediction)
    assert (again.ensemble_score, again.decision, again.model_version) == (
        p1.ensemble_score,
        p1.decision,
        p1.model_version,
    )
    assert len(restarted.pipeline.card_store) == 0  # nothing applied to the feature state

    other = decode_transaction(VALID.replace(b'"t-1"', b'"pg-idem-1"').replace(b"12.5", b"99.0"))
    (refused,) = restarted.process([([other], True)])
    assert isinstance(refused, HTTPException) and refused.status_code == 409
    with connect(pg_db) as conn:
        (amount,) = conn.execute(
            "SELECT amount FROM fraud_predictions WHERE transaction_id = 'pg-idem-1'"
        ).fetchone() or (None,)
    assert amount == 12.5
