"""``record=true`` answers only after the broker acknowledged the prediction (issue 11, failure 6).

Before, the publish was fire-and-forget: with the broker frozen, 10 of 10 calls answered
``recorded: true`` and 2 of 10 reached ``predictions``. A private broker is frozen here
with SIGSTOP (the session broker is shared).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from fraudguard.api.scoring import ScoringService
from fraudguard.bench.fuzz import VALID
from fraudguard.errors import BrokerError
from fraudguard.io.broker import EmbeddedBroker, free_port
from fraudguard.io.kafka import ensure_topics, make_consumer, make_producer
from fraudguard.schema import decode_transaction
from tests.browser.stack import train_tiny_model


def _tx(tid: str):
    return decode_transaction(VALID.replace(b'"t-1"', f'"{tid}"'.encode()))


def _count(bootstrap: str, topic: str) -> int:
    from confluent_kafka import TopicPartition

    consumer = make_consumer(bootstrap, None)
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return high - low
    finally:
        consumer.close()


@pytest.mark.timeout(180)
def test_record_waits_for_delivery_and_fails_without_state_change(tmp_path: Path) -> None:
    from fraudguard.models.scorer import Scorer

    train_tiny_model(tmp_path / "models", rows=2_000)
    scorer = Scorer.load(tmp_path / "models")
    broker = EmbeddedBroker(port=free_port()).start()
    try:
        ensure_topics(broker.bootstrap_servers, ["pred", "alerts"], 1)
        producer = make_producer(broker.bootstrap_servers, **{"message.timeout.ms": 60_000})
        svc = ScoringService(
            scorer, scorer.make_pipeline(), producer=producer, predictions_topic="pred", alerts_topic="alerts",
            publish_timeout_s=3.0,
        )  # fmt: skip
        ((first,),) = svc.process([([_tx("pub-1")], True)])
        assert first.transaction_id == "pub-1"
        assert _count(broker.bootstrap_servers, "pred") == 1  # acknowledged before the answer
        state = svc.pipeline.card_store.snapshot()

        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            with pytest.raises(BrokerError, match="not acknowledged"):
                svc.process([([_tx("pub-2")], True)])
            assert svc.pipeline.card_store.snapshot() == state  # 503 and no state change
            assert svc.recorded_log.get("pub-2") is None
        finally:
            os.kill(broker.pid, signal.SIGCONT)
        ((again,),) = svc.process([([_tx("pub-3")], True)])
        assert again.transaction_id == "pub-3"
        assert svc.pipeline.card_store.snapshot() != state
        producer.flush(30)
    finally:
        broker.stop()
