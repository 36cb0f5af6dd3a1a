"""DDL of the model-lifecycle tables (migrations 30-39), kept out of the shared schema module.

``fraud_challenger_scores`` holds one row per (transaction, challenger): the shadow
score beside the champion's. It is a table of its own so the prediction record (what
decides) never carries a score that did not decide.
"""

from __future__ import annotations

from typing import Any

CHALLENGER_SCORES_DDL = """
CREATE TABLE fraud_challenger_scores (
    transaction_id text NOT NULL,
    model_version text NOT NULL,
    event_time timestamptz NOT NULL,
    champion_version text NOT NULL,
    score double precision NOT NULL,
    threshold double precision NOT NULL,
    decision text NOT NULL CHECK (decision IN ('fraud', 'legit')),
    champion_score double precision NOT NULL,
    champion_decision text NOT NULL CHECK (champion_decision IN ('fraud', 'legit')),
    is_fraud boolean,
    scored_at timestamptz NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (transaction_id, model_version)
);
COMMENT ON TABLE fraud_challenger_scores IS 'shadow scores of challenger models: recorded, never deciding';
CREATE INDEX fraud_challenger_scores_version_time_idx ON fraud_challenger_scores (model_version, event_time);
"""


_COMPARE_SQL = """
SELECT c.model_version, c.champion_version, c.score, c.threshold, c.champion_score, p.threshold,
       COALESCE(p.label, p.is_fraud)
FROM fraud_challenger_scores c JOIN fraud_predictions p USING (transaction_id)
ORDER BY c.event_time DESC
LIMIT %s"""


def challenger_comparison(conn: Any, limit: int = 20_000) -> list[dict[str, Any]]:
    """Champion vs each challenger on the most recent shadow-scored transactions (labels win over truth)."""
    import numpy as np

    from fraudguard.metrics.compare import compare_pair

    rows = conn.execute(_COMPARE_SQL, (limit,)).fetchall()
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for r in rows:
        groups.setdefault((r[0], r[1]), []).append(r)
    out = []
    for (version, champion), rs in groups.items():
        cols = list(zip(*rs, strict=True))
        truth = np.array([np.nan if t is None else float(t) for t in cols[6]])
        pair = compare_pair(np.array(cols[4]), np.array(cols[5]), np.array(cols[2]), np.array(cols[3]), truth)
        out.append({"version": version, "champion": champion, **pair})
    return out
