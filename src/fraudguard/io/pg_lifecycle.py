"""DDL of the model-lifecycle tables (migrations 30-39), kept out of the shared schema module.

``fraud_challenger_scores`` holds one row per (transaction, challenger): the shadow
score beside the champion's. It is a table of its own so the prediction record (what
decides) never carries a score that did not decide.
"""

from __future__ import annotations

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
