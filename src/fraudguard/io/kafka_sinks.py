"""Kafka sinks: every prediction to ``predictions``, fraud decisions to ``fraud_alerts``.

Messages are JSON in the shape of :class:`fraudguard.schema.Prediction` and
:class:`fraudguard.schema.Alert` (so ``msgspec.json.decode(value, type=Prediction)`` reads
them back) and are keyed by ``card_id``, so one card's decisions stay in order.

Encoding works on column lists, not rows: each column is converted once (timestamps to
ISO-8601 text by NumPy, NaN to ``None``), the zipped columns become plain dicts and ONE
``msgspec`` ``encode_lines`` call encodes the whole batch, split on newlines (JSON text
never holds a raw newline). That is ~3.5x faster than one ``orjson.dumps`` per record.

Delivery is at-least-once: a batch whose flush failed is produced again on retry, so a
consumer of these topics de-duplicates on ``transaction_id`` (as the PostgreSQL upsert does).
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pandas as pd
from confluent_kafka import KafkaError, Message, Producer

from fraudguard.errors import BrokerError
from fraudguard.schema import MODEL_NAMES

_BASE = ("transaction_id", "card_id", "event_time", "amount", "merchant_id", "merchant_category")
_SCORE_COLS = tuple(f"score_{m}" for m in MODEL_NAMES)
_ENCODER = msgspec.json.Encoder()


def _encode_each(records: list[dict[str, Any]]) -> list[bytes]:
    """One JSON document per record, encoded in a single call."""
    return _ENCODER.encode_lines(records).split(b"\n")[:-1]


def _iso(series: pd.Series) -> list[str | None]:
    """UTC timestamps as ``2026-01-01T12:00:00.123456Z`` (``None`` for NaT), vectorised."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True)
    values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(values, unit="us").astype(object)
    mask = np.isnat(values)
    text = text + "Z"
    text[mask] = None
    return text.tolist()


def _floats(series: pd.Series) -> list[float | None]:
    arr = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    out: list[float | None] = arr.tolist()
    if np.isnan(arr).any():
        out = [None if v != v else v for v in out]
    return out


def _labels(series: pd.Series) -> list[bool | None]:
    arr = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    return [None if v != v else v == 1.0 for v in arr.tolist()]


def _texts(series: pd.Series) -> list[str | None]:
    return series.astype(object).where(series.notna(), None).tolist()


def _reasons(series: pd.Series) -> list[list[str]]:
    return [list(r) if r is not None and not isinstance(r, float) else [] for r in series.tolist()]


def encode_predictions(frame: pd.DataFrame) -> list[bytes]:
    """JSON bytes of each row of a prediction frame, in :class:`~fraudguard.schema.Prediction` shape."""
    if frame.empty:
        return []
    tid, card, merchant, category = (
        frame[c].tolist() for c in ("transaction_id", "card_id", "merchant_id", "merchant_category")
    )
    et = _iso(frame["event_time"])
    amount = _floats(frame["amount"])
    scores = [_floats(frame[c]) for c in _SCORE_COLS]
    ens, thr = _floats(frame["ensemble_score"]), _floats(frame["threshold"])
    decision, version = frame["decision"].tolist(), frame["model_version"].tolist()
    reasons = _reasons(frame["reasons"])
    label, scenario = _labels(frame["is_fraud"]), _texts(frame["fraud_scenario"])
    produced, scored = _iso(frame["produced_at"]), _iso(frame["scored_at"])
    names = MODEL_NAMES
    return _encode_each(
        [
            {
                "transaction_id": r[0],
                "card_id": r[1],
                "event_time": r[2],
                "amount": r[3],
                "merchant_id": r[4],
                "merchant_category": r[5],
                "scores": dict(zip(names, r[6], strict=True)),
                "ensemble_score": r[7],
                "threshold": r[8],
                "decision": r[9],
                "reasons": r[10],
                "model_version": r[11],
                "is_fraud": r[12],
                "fraud_scenario": r[13],
                "produced_at": r[14],
                "scored_at": r[15],
            }
            for r in zip(
                tid,
                card,
                et,
                amount,
                merchant,
                category,
                zip(*scores, strict=True),
                ens,
                thr,
                decision,
                reasons,
                version,
                label,
                scenario,
                produced,
                scored,
                strict=True,
            )
        ]
    )


def encode_alerts(frame: pd.DataFrame) -> list[bytes]:
    """JSON bytes of each row, in :class:`~fraudguard.schema.Alert` shape (callers pass fraud rows)."""
    if frame.empty:
        return []
    cols = [
        frame[c].tolist() for c in ("transaction_id", "card_id", "merchant_id", "merchant_category", "model_version")
    ]
    et, scored = _iso(frame["event_time"]), _iso(frame["scored_at"])
    amount, ens, thr = _floats(frame["amount"]), _floats(frame["ensemble_score"]), _floats(frame["threshold"])
    scores = [_floats(frame[c]) for c in _SCORE_COLS]
    reasons = _reasons(frame["reasons"])
    return _encode_each(
        [
            {
                "transaction_id": tid,
                "card_id": card,
                "event_time": e,
                "amount": a,
                "merchant_id": m,
                "merchant_category": cat,
                "ensemble_score": s,
                "threshold": t,
                "scores": dict(zip(MODEL_NAMES, sc, strict=True)),
                "reasons": rs,
                "model_version": v,
                "scored_at": sa,
            }
            for tid, card, m, cat, v, e, sa, a, s, t, sc, rs in zip(
                *cols, et, scored, amount, ens, thr, zip(*scores, strict=True), reasons, strict=True
            )
        ]
    )


class _ProducerSink:
    """Shared produce / flush / delivery-error bookkeeping of the two Kafka sinks."""

    name = "kafka"

    def __init__(self, producer: Producer, topic: str, *, flush_timeout_s: float = 60.0) -> None:
        self.producer = producer
        self.topic = topic
        self.flush_timeout_s = flush_timeout_s
        self.messages_sent = 0
        self._failures: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(str(err))

    def setup(self) -> None:
        """Topics are created by ``ensure_topics`` at engine start; nothing else to prepare."""

    def _produce_all(self, keys: list[Any], values: list[bytes]) -> None:
        produce, poll, topic, cb = self.producer.produce, self.producer.poll, self.topic, self._on_delivery
        for key, value in zip(keys, values, strict=True):
            while True:
                try:
                    produce(topic, value=value, key=key, on_delivery=cb)
                    break
                except BufferError:  # local queue full: let librdkafka drain it
                    poll(0.1)
                except Exception as e:  # KafkaException (message too large, unknown topic)
                    raise BrokerError(f"cannot queue a message for {topic!r}: {e}") from e
        poll(0)
        self.messages_sent += len(values)

    def flush(self) -> None:
        """Wait for every queued message to be acknowledged; :class:`BrokerError` if not."""
        remaining = self.producer.flush(self.flush_timeout_s)
        failures, self._failures = self._failures, []
        if remaining:
            raise BrokerError(
                f"{remaining} messages for {self.topic!r} not delivered within {self.flush_timeout_s:.0f}s"
            )
        if failures:
            raise BrokerError(f"{len(failures)} messages failed to reach {self.topic!r}: {failures[0]}")

    def close(self) -> None:
        """Flush what is queued; the producer itself belongs to the caller."""
        self.producer.flush(self.flush_timeout_s)


class KafkaPredictionSink(_ProducerSink):
    """Every prediction as JSON on the predictions topic, keyed by card."""

    name = "kafka-predictions"

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Queue one message per row (``batch_id`` is unused: the topic is at-least-once)."""
        if frame.empty:
            return
        self._produce_all(frame["card_id"].tolist(), encode_predictions(frame))


class KafkaAlertSink(_ProducerSink):
    """Rows decided ``fraud`` as JSON alerts (with reason codes) on the alerts topic."""

    name = "kafka-alerts"

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        """Queue one alert per fraud row."""
        fraud = frame[frame["decision"].to_numpy() == "fraud"] if not frame.empty else frame
        if fraud.empty:
            return
        self._produce_all(fraud["card_id"].tolist(), encode_alerts(fraud))
