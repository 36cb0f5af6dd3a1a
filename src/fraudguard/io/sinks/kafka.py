"""Kafka sinks: every prediction to ``predictions``, fraud decisions to ``fraud_alerts``.

Messages are JSON in the shape of :class:`fraudguard.schema.Prediction` and
:class:`fraudguard.schema.Alert` (so ``msgspec.json.decode(value, type=Prediction)`` reads
them back) and are keyed by ``card_id``, so one card's decisions stay in order.

Encoding works on columns, not rows: each column is converted once (timestamps straight
to quoted ISO-8601 text by Arrow) and the others encoded to JSON text by ONE ``msgspec`` ``encode_lines`` call
(split on newlines: JSON text never holds a raw newline); Arrow then joins the columns
row-wise with the key literals. The bytes equal msgspec's encoding of one dict per row,
without building the dicts (~4x faster than that, itself ~3.5x faster than orjson per record).

Delivery is at-least-once: a batch whose flush failed is produced again on retry, so a
consumer of these topics de-duplicates on ``transaction_id`` (as the PostgreSQL upsert does).
A sink's ``flush`` waits for its own messages' delivery reports (``acks.py``), so it holds
even on a producer shared with another writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import Producer

from fraudguard.errors import BrokerError
from fraudguard.io.sinks.acks import DeliveryReports
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.schema import MODEL_NAMES, Alert, Prediction

_ENCODER = msgspec.json.Encoder()


def _json_values(values: list[Any]) -> pa.Array:
    """JSON text of each value (one ``encode_lines`` call; NaN encodes as ``null``).

    The encoded buffer becomes an Arrow array in place: the newline positions are the
    offsets (each value keeps its newline, sliced off in C++), so no Python ``bytes``
    object is made per row.
    """
    data = _ENCODER.encode_lines(values)
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A) + 1
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    lines = pa.Array.from_buffers(pa.binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return pc.binary_slice(lines, 0, -1)


def _join_object(fields: list[tuple[str, pa.Array]]) -> list[bytes]:
    """``{"name":<json>,...}`` per row, assembled by Arrow from per-column JSON text.

    Same bytes as encoding one dict per row with msgspec (keys in this order, no spaces),
    without building the dicts: the columns are encoded once each and joined row-wise in C++.
    """
    pieces: list[pa.Array | pa.Scalar] = []
    for i, (name, arr) in enumerate(fields):
        sep = "{" if i == 0 else ","
        pieces += [pa.scalar(f'{sep}"{name}":'.encode(), pa.binary()), arr]
    pieces.append(pa.scalar(b"}", pa.binary()))
    return pc.binary_join_element_wise(*pieces, pa.scalar(b"", pa.binary())).to_pylist()


def _scores_object(frame: pd.DataFrame) -> pa.Array:
    """``{"xgboost":..,"random_forest":..,...}`` per row."""
    return pa.array(
        _join_object([(m, _json_values(_floats(frame[f"score_{m}"]))) for m in MODEL_NAMES]), type=pa.binary()
    )


def _iso_json(series: pd.Series) -> pa.Array:
    """JSON of UTC timestamps, ``"2026-01-01T12:00:00.123456Z"`` (``null`` for NaT), built by Arrow.

    The text has no character JSON escapes, so quoting it is its JSON encoding: the bytes
    equal msgspec's of the ISO string, without a Python string per row (NumPy's formatting into object arrays was ~30%
    of the predictions' encoding CPU; Arrow's cast of naive timestamps is far cheaper than
    its ``strftime``).
    """
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True)
    utc = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = pa.array(utc, type=pa.timestamp("us"), from_pandas=True).cast(pa.string())  # "2026-01-01 12:00:00.000000"
    text = pc.replace_substring(text, " ", "T", max_replacements=1)
    return pc.fill_null(pc.binary_join_element_wise('"', text, 'Z"', ""), "null").cast(pa.binary())


def _floats(series: pd.Series) -> list[float]:
    """Python floats; NaN stays NaN, which msgspec encodes as ``null``."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64).tolist()


def _labels(series: pd.Series) -> list[bool | None]:
    arr = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    return [None if v != v else v == 1.0 for v in arr.tolist()]


def _texts(series: pd.Series) -> list[str | None]:
    return series.astype(object).where(series.notna(), None).tolist()


def _reasons(series: pd.Series) -> list[list[str]]:
    return [list(r) if r is not None and not isinstance(r, float) else [] for r in series.tolist()]


def _text_column(name: str) -> Callable[[pd.DataFrame], pa.Array]:
    return lambda f: _json_values(f[name].tolist())


def _float_column(name: str) -> Callable[[pd.DataFrame], pa.Array]:
    return lambda f: _json_values(_floats(f[name]))


def _time_column(name: str) -> Callable[[pd.DataFrame], pa.Array]:
    return lambda f: _iso_json(f[name])


_FIELD_ENCODERS: dict[str, Callable[[pd.DataFrame], pa.Array]] = {
    "transaction_id": _text_column("transaction_id"),
    "card_id": _text_column("card_id"),
    "event_time": _time_column("event_time"),
    "amount": _float_column("amount"),
    "merchant_id": _text_column("merchant_id"),
    "merchant_category": _text_column("merchant_category"),
    "scores": _scores_object,
    "ensemble_score": _float_column("ensemble_score"),
    "threshold": _float_column("threshold"),
    "decision": _text_column("decision"),
    "reasons": lambda f: _json_values(_reasons(f["reasons"])),
    "model_version": _text_column("model_version"),
    "rule_ids": lambda f: _json_values(_reasons(f["rule_ids"])),
    "rule_action": lambda f: _json_values(_texts(f["rule_action"])),
    "shadow_rule_ids": lambda f: _json_values(_reasons(f["shadow_rule_ids"])),
    "is_fraud": lambda f: _json_values(_labels(f["is_fraud"])),
    "fraud_scenario": lambda f: _json_values(_texts(f["fraud_scenario"])),
    "produced_at": _time_column("produced_at"),
    "scored_at": _time_column("scored_at"),
}
"""One column encoder per record field; a record's JSON follows its struct's field order."""


def _encode_as(record: type[msgspec.Struct], frame: pd.DataFrame) -> list[bytes]:
    """JSON bytes of each row in ``record``'s shape, one vectorised encoder per field."""
    if frame.empty:
        return []
    return _join_object([(name, _FIELD_ENCODERS[name](frame)) for name in record.__struct_fields__])


def encode_predictions(frame: pd.DataFrame) -> list[bytes]:
    """JSON bytes of each row of a prediction frame, in :class:`~fraudguard.schema.Prediction` shape."""
    return _encode_as(Prediction, frame)


def encode_alerts(frame: pd.DataFrame) -> list[bytes]:
    """JSON bytes of each row, in :class:`~fraudguard.schema.Alert` shape (callers pass fraud rows)."""
    return _encode_as(Alert, frame)


class ProducerSink:
    """Shared produce / flush bookkeeping of the Kafka sinks: each waits for its own messages' reports."""

    name = "kafka"

    def __init__(self, producer: Producer, topic: str, *, flush_timeout_s: float = 60.0) -> None:
        self.producer = producer
        self.topic = topic
        self.flush_timeout_s = flush_timeout_s
        self.messages_sent = 0
        self.reports = DeliveryReports(producer, flush_timeout_s)

    def setup(self) -> None:
        """Topics are created by ``ensure_topics`` at engine start; nothing else to prepare."""

    def _produce_all(self, keys: list[Any], values: list[bytes]) -> None:
        reports, topic = self.reports, self.topic
        produce, cb = self.producer.produce, reports.expect(len(values))
        queued = 0
        try:
            for key, value in zip(keys, values, strict=True):
                try:
                    produce(topic, value=value, key=key, on_delivery=cb)
                except BufferError:  # local queue full: let librdkafka drain it (for a while)
                    reports.queue_when_room(topic, value=value, key=key, on_delivery=cb)
                except Exception as e:  # KafkaException (message too large, unknown topic)
                    raise BrokerError(f"cannot queue a message for {topic!r}: {e}") from e
                queued += 1
        finally:
            reports.expect(queued - len(values))  # those never queued will never be reported
        self.producer.poll(0)
        self.messages_sent += len(values)

    def flush(self) -> None:
        """Wait until the broker acknowledged every message this sink queued; :class:`BrokerError` if not."""
        self.reports.wait(f"messages for {self.topic!r}")

    def close(self) -> None:
        """Flush what is queued; the producer itself belongs to the caller."""
        self.producer.flush(self.flush_timeout_s)


class KafkaPredictionSink(ProducerSink):
    """Every prediction as JSON on the predictions topic, keyed by card."""

    name = "kafka-predictions"

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        """Queue one message per row (``batch_id`` is unused: the topic is at-least-once)."""
        frame = batch.frame
        if frame.empty:
            return
        self._produce_all(frame["card_id"].tolist(), encode_predictions(frame))


class KafkaAlertSink(ProducerSink):
    """Rows decided ``fraud`` as JSON alerts (with reason codes) on the alerts topic."""

    name = "kafka-alerts"

    def write(self, batch: PredictionBatch, *, batch_id: str) -> None:
        """Queue one alert per fraud row."""
        frame = batch.frame
        fraud = frame[frame["decision"].to_numpy() == "fraud"] if not frame.empty else frame
        if fraud.empty:
            return
        self._produce_all(fraud["card_id"].tolist(), encode_alerts(fraud))
