"""The naive streaming consumer: one message at a time, the shape many tutorials use.

Per message: ``poll()`` one record, decode it, read the card's and the merchant's state
from PostgreSQL and write it back (one SELECT and one upsert each), score it with one
predict call per model, and INSERT the prediction as a single autocommitted row. Offsets
are auto-committed by the client. It writes one sink (PostgreSQL) where the engine writes
four, so the comparison flatters the baseline.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import TopicPartition

from fraudguard import schema
from fraudguard.bench.naive import RowScorer, RowStateStore
from fraudguard.features import FeatureStores
from fraudguard.io.kafka import make_consumer
from fraudguard.io.postgres import connect
from fraudguard.models.scorer import Scorer

_TABLE = """CREATE TABLE IF NOT EXISTS naive_predictions (
    transaction_id text PRIMARY KEY, card_id text NOT NULL, amount double precision NOT NULL,
    score_xgboost double precision, score_random_forest double precision,
    score_isolation_forest double precision, ensemble_score double precision NOT NULL,
    decision text NOT NULL, scored_at timestamptz NOT NULL DEFAULT now())"""
_INSERT = (
    "INSERT INTO naive_predictions (transaction_id, card_id, amount, score_xgboost, score_random_forest, "
    "score_isolation_forest, ensemble_score, decision) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (transaction_id) DO NOTHING"
)


def run_naive_consumer(
    bootstrap: str, topic: str, partitions: int, database_url: str, scorer: Scorer, n: int, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Consume ``n`` messages from the start of ``topic`` (read with ``assign()``); rows/s and counts."""
    conn = connect(database_url, autocommit=True)
    consumer = make_consumer(bootstrap, None, **{"enable.auto.commit": True})
    try:
        conn.execute(_TABLE)
        naive = RowScorer(
            scorer, FeatureStores(RowStateStore(conn, "naive_card_state"), RowStateStore(conn, "naive_merchant_state"))
        )
        threshold = scorer.thresholds.value
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        done = 0
        started = time.perf_counter()
        deadline = started + timeout_s
        while done < n and time.perf_counter() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error() is not None:
                continue
            tx = schema.decode_transaction(msg.value() or b"")
            s_xgb, s_rf, s_if, ens = naive.score_row(schema.to_frame([tx]))
            decision = "fraud" if ens >= threshold else "legit"
            conn.execute(_INSERT, (tx.transaction_id, tx.card_id, tx.amount, s_xgb, s_rf, s_if, ens, decision))
            done += 1
        seconds = time.perf_counter() - started
        row = conn.execute("SELECT count(*) FROM naive_predictions").fetchone()
        return {
            "path": "naive per-message consumer, assign()",
            "rows": done,
            "seconds": round(seconds, 3),
            "rows_s": done / seconds if seconds > 0 else 0.0,
            "rows_in_postgres": int(row[0]) if row else 0,
        }
    finally:
        consumer.close()
        conn.close()
