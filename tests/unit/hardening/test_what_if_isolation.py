"""A what-if scores exactly as it would alone (issue 11, failure 10).

Before, what-ifs on distinct cards shared one pipeline pass, so a row in a completed
merchant bucket became history for another request's row at the same merchant: the
flaky ``test_concurrent_single_requests_match_direct_scoring`` (0.031 vs 0.0054 alone).
"""

from __future__ import annotations

import msgspec
import pandas as pd
from fastapi.testclient import TestClient

from fraudguard import schema
from fraudguard.api.scoring import what_if_rounds
from fraudguard.generator import generate_frame


def _one_merchant_requests() -> list[schema.Transaction]:
    txs = schema.from_frame(generate_frame(400, seed=21))
    base = txs[0]
    # twelve requests, each on its own card, all at one merchant, one hour apart (bucket boundaries)
    reqs = [
        msgspec.structs.replace(
            base,
            transaction_id=f"wi-{i}",
            card_id=f"wi-card-{i}",
            merchant_id="wi-merchant",
            event_time=base.event_time + pd.Timedelta(hours=i).to_pytimedelta(),
            amount=50.0 + 400 * (i % 2),
        )
        for i in range(12)
    ]
    return reqs


def test_what_ifs_at_one_merchant_do_not_share_a_pass() -> None:
    a = schema.Transaction(transaction_id="a", card_id="c1", event_time=pd.Timestamp("2026-01-01", tz="UTC"),
                           amount=1.0, merchant_id="m")  # fmt: skip
    b = msgspec.structs.replace(a, transaction_id="b", card_id="c2")
    c = msgspec.structs.replace(a, transaction_id="c", card_id="c3", merchant_id="other")
    rounds = what_if_rounds([[a], [b], [c]])
    assert [[t.transaction_id for t in r] for r in rounds] == [["a", "c"], ["b"]]


def test_concurrent_what_ifs_score_as_alone(client: TestClient) -> None:
    scoring = client.app.state.services.scoring  # type: ignore[attr-defined]
    reqs = _one_merchant_requests()
    together = scoring.process([([t], False) for t in reqs])
    for t, (p,) in zip(reqs, together, strict=True):
        ((alone,),) = scoring.process([([t], False)])
        assert p.scores == alone.scores, t.transaction_id
        assert p.ensemble_score == alone.ensemble_score
