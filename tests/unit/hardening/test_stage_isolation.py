"""A row that fails after decoding is dead-lettered with its stage; the rest of the batch is scored."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest
from confluent_kafka import Message

from fraudguard import schema
from fraudguard.engines.local.batching import decode_messages
from fraudguard.engines.local.engine import RETRYABLE
from fraudguard.engines.local.isolate import STAGE_PREFIX, StageFailure, score_isolating
from fraudguard.errors import DatabaseError
from fraudguard.generator import generate_frame


def _messages(n: int) -> list[Message]:
    values = schema.encode_many(schema.from_frame(generate_frame(n, seed=3)))
    return [
        Message(topic="tx", partition=0, offset=i, key=b"k", value=v, timestamp=(1, 1)) for i, v in enumerate(values)
    ]


class Picky:
    """A processor whose feature stage breaks on one transaction id (what a poison row does)."""

    def __init__(self, poison: str, error: Exception | None = None) -> None:
        self.poison, self.error, self.calls = poison, error, 0

    def __call__(self, frame: pd.DataFrame, partitions: Sequence[int]) -> pd.DataFrame:
        self.calls += 1
        if self.poison in set(frame["transaction_id"]):
            cause = self.error or KeyError("boom")
            if isinstance(cause, RETRYABLE):
                raise cause
            raise StageFailure("features", cause) from cause
        return frame[["transaction_id"]].assign(decision="legit")


def test_failing_row_goes_to_dlq_with_its_stage_and_others_are_scored() -> None:
    batch = decode_messages(_messages(6))
    poison = batch.frame["transaction_id"].iloc[2]
    preds = score_isolating(
        Picky(poison), batch.frame, batch.partitions, batch.row_messages, batch.dead_letters, RETRYABLE
    )
    assert preds is not None
    assert len(preds) == 5 and poison not in set(preds["transaction_id"])
    (letter,) = batch.dead_letters
    assert letter.offset == 2 and letter.reason.startswith(f"{STAGE_PREFIX} features: KeyError")
    assert len(preds) + len(batch.dead_letters) == len(batch.messages)


def test_infrastructure_failures_are_not_dead_lettered() -> None:
    batch = decode_messages(_messages(3))
    poison = batch.frame["transaction_id"].iloc[0]
    with pytest.raises(DatabaseError):
        score_isolating(
            Picky(poison, DatabaseError("down")), batch.frame, batch.partitions, batch.row_messages,
            batch.dead_letters, RETRYABLE,
        )  # fmt: skip
    assert batch.dead_letters == []
