"""A recorded call whose database write fails changes no state, and its retry is counted once.

Before, by reading the code, a 503 from the database followed by the client's retry could
count the transaction twice in the card's history. The API's recorded path now goes
through ``SinkSet.deliver`` (Kafka acknowledged, then PostgreSQL, the ledger) and applies
the card/merchant state only after that returned. Two real failures, through the HTTP API
on the session broker:

* PostgreSQL refuses the write after the broker acknowledged the prediction (a trigger
  raising ``read_only_sql_transaction``, as a failed-over read-only server would);
* a private embedded PostgreSQL is stopped, then started again.

"Counted once" is checked on the state itself (the card's event records) and on the
features a later transaction of the card gets, against a reference pipeline fed each
transaction once (and, so the check can fail, one fed the retried transaction twice).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient

from fraudguard import schema
from fraudguard.config import Settings, isolated_names
from fraudguard.features.state import card_events
from fraudguard.io.embedded_postgres import EmbeddedPostgres
from fraudguard.io.kafka import ensure_topics
from tests.fixtures.engine import pg_count, read_topic

pytestmark = pytest.mark.integration

KEY = "retry-test-key-0123456789"
CARD = "card-retry-1"
NOW = pd.Timestamp.now(tz="UTC").floor("s")


def body(tid: str, minutes_ago: float, amount: float) -> bytes:
    return json.dumps(
        {
            "transaction_id": tid,
            "card_id": CARD,
            "event_time": (NOW - pd.Timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z"),
            "amount": amount,
            "merchant_id": "m-retry-1",
            "merchant_category": "electronics",
            "channel": "online",
        }
    ).encode()


TX1, TX2, PROBE = body("retry-1", 30, 25.0), body("retry-2", 20, 480.0), body("retry-3", 10, 99.0)


@contextmanager
def api(database_url: str, kafka_bootstrap: str, registry: Path, state: Path) -> Iterator[TestClient]:
    from fraudguard.api.app import create_app

    shutil.copytree(registry, state / "models")
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=database_url,
        state_dir=state,
        api_keys=KEY,
        topic_partitions=1,
        **isolated_names(uuid.uuid4().hex[:8]),
    )
    ensure_topics(kafka_bootstrap, settings.topics, settings.topic_partitions)
    with TestClient(create_app(settings)) as client:
        yield client


def record(client: TestClient, payload: bytes):  # type: ignore[no-untyped-def]
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    return client.post("/v1/score?record=true", content=payload, headers=headers)


def snapshots(client: TestClient) -> tuple[dict[str, bytes], dict[str, bytes]]:
    pipeline = client.app.state.services.scoring.pipeline  # type: ignore[attr-defined]
    return pipeline.card_store.snapshot(), pipeline.merchant_store.snapshot()


def probe_features(pipeline, applied: list[bytes]) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Features ``PROBE`` gets from ``pipeline`` after ``applied`` (``None``: as it stands)."""
    for payload in applied:
        pipeline.transform(schema.to_frame([schema.decode_transaction(payload)]), update=True)
    return pipeline.transform(schema.to_frame([schema.decode_transaction(PROBE)]), update=False)


def assert_counted_once(client: TestClient) -> None:
    scoring = client.app.state.services.scoring  # type: ignore[attr-defined]
    events = card_events(scoring.pipeline.card_store.get_many([CARD])[0])
    assert len(events) == 2, "the card's history holds tx1 and tx2, each once"
    got = probe_features(scoring.pipeline, [])
    once = probe_features(scoring.scorer.make_pipeline(), [TX1, TX2])
    twice = probe_features(scoring.scorer.make_pipeline(), [TX1, TX2, TX2])
    pd.testing.assert_frame_equal(got, once)
    assert not got.equals(twice), "the check tells a double count apart"


def assert_first_attempt_changed_nothing(client: TestClient, before: tuple[dict, dict], answer) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == 503 and answer.json() == {"detail": "database unavailable"}
    assert snapshots(client) == before, "no card or merchant state changed"
    assert client.app.state.services.scoring.recorded_log.get("retry-2") is None  # type: ignore[attr-defined]


def assert_retry_recorded(client: TestClient) -> None:
    again = record(client, TX2)
    assert again.status_code == 200, again.text
    assert (again.json()["recorded"], again.json()["duplicate"]) == (True, False)


@pytest.mark.timeout(300)
def test_write_refused_after_the_broker_acknowledged_then_retried(
    pg_schema_url: str, kafka_bootstrap: str, engine_registry: Path, tmp_path: Path
) -> None:
    with api(pg_schema_url, kafka_bootstrap, engine_registry, tmp_path / "state") as client:
        assert record(client, TX1).status_code == 200
        before = snapshots(client)
        with psycopg.connect(pg_schema_url, autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' "
                "USING ERRCODE = 'read_only_sql_transaction'; END $$"
            )
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON fraud_predictions "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()"
            )
        failed = record(client, TX2)
        assert_first_attempt_changed_nothing(client, before, failed)
        assert pg_count(pg_schema_url, "SELECT count(*) FROM fraud_predictions WHERE transaction_id = 'retry-2'") == 0
        topic = client.app.state.services.settings.topic_predictions  # type: ignore[attr-defined]
        published = [m.value() for m in read_topic(kafka_bootstrap, topic, idle_s=1.0)]
        assert sum(b'"retry-2"' in v for v in published) == 1, "Kafka acknowledged before PostgreSQL was written"

        with psycopg.connect(pg_schema_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse ON fraud_predictions")
        assert_retry_recorded(client)
        assert_counted_once(client)
        assert pg_count(pg_schema_url, "SELECT count(*) FROM fraud_predictions WHERE transaction_id = 'retry-2'") == 1
        assert record(client, TX2).json()["duplicate"] is True  # and from now on it is a duplicate


@pytest.mark.timeout(300)
def test_database_stopped_then_restarted_and_the_call_retried(
    kafka_bootstrap: str, engine_registry: Path, tmp_path: Path
) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", database="fg_retry")
    url = server.start()
    try:
        with api(url, kafka_bootstrap, engine_registry, tmp_path / "state") as client:
            assert record(client, TX1).status_code == 200
            before = snapshots(client)
            assert server.stop()
            failed = record(client, TX2)
            assert_first_attempt_changed_nothing(client, before, failed)

            assert server.start() == url
            assert_retry_recorded(client)
            assert_counted_once(client)
            assert pg_count(url, "SELECT count(*) FROM fraud_predictions WHERE transaction_id = 'retry-2'") == 1
    finally:
        server.stop()
