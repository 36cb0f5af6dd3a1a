"""A Spark 4 Python streaming data source over confluent-kafka (``format("fraudguard_kafka")``).

Spark's own Kafka connector is a separate jar (``spark-sql-kafka-0-10``); where it is not on
the classpath ``format("kafka")`` fails with ``KAFKA_DATA_SOURCE_NOT_ENABLED``. This source
gives the same columns (``key, value, topic, partition, offset, timestamp``) so the rest
of the query does not care which one runs.

Spark's offset for this source is ``{"<topic>": {"<partition>": next_offset}}``, the
connector's own JSON shape: it is written to the checkpoint's offset log before a batch
runs, so a restarted query re-reads exactly the ranges it had planned. Readers are pickled
into tasks, so Kafka clients are opened lazily and cached per Python worker process.

The end of a partition is found in two steps because the embedded Tansu broker answers
ListOffsets with the base offset of its last record batch + 1 (see docs/machine-notes.md): the
ListOffsets answer is a lower bound, and the driver fetches from there to the partition's
end-of-file event, whose offset is the high watermark of a fetch response. On real Kafka
the fetch from the ListOffsets answer returns nothing and costs one short round trip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadLimit, ReadMaxRows
from pyspark.sql.types import StructType

from fraudguard.errors import BrokerError
from fraudguard.io.kafka import make_consumer

SOURCE_NAME = "fraudguard_kafka"
SCHEMA = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
"""The columns of Spark's Kafka connector that FraudGuard reads (same names and types)."""

READ_CHUNK = 10_000
READ_TIMEOUT_S = 60.0
"""A planned range must arrive within this: the driver saw those offsets exist."""

_CONSUMERS: dict[str, Consumer] = {}
"""One consumer per bootstrap string and Python process (workers are reused across tasks)."""


def cached_consumer(bootstrap: str) -> Consumer:
    """A group-less ``assign()`` consumer for ``bootstrap``, created on first use."""
    consumer = _CONSUMERS.get(bootstrap)
    if consumer is None:
        consumer = make_consumer(
            bootstrap,
            None,
            **{"enable.partition.eof": True, "fetch.wait.max.ms": 20, "queued.max.messages.kbytes": 65536},
        )
        _CONSUMERS[bootstrap] = consumer
    return consumer


class KafkaRange(InputPartition):
    """Offsets ``[start, end)`` of one topic partition: one Spark task."""

    def __init__(self, topic: str, partition: int, start: int, end: int) -> None:
        super().__init__((topic, partition, start, end))
        self.topic, self.partition, self.start, self.end = topic, partition, start, end


def split_limit(available: dict[int, int], max_rows: int) -> dict[int, int]:
    """Share ``max_rows`` among partitions with ``available`` rows each, fairly.

    Each round gives every partition that still has rows an equal share, so a busy
    partition cannot starve the others and the total never exceeds ``max_rows``.
    """
    take = dict.fromkeys(available, 0)
    left = max_rows
    open_parts = [p for p, n in available.items() if n > 0]
    while left > 0 and open_parts:
        share = max(1, left // len(open_parts))
        for p in list(open_parts):
            n = min(share, available[p] - take[p], left)
            take[p] += n
            left -= n
            if take[p] >= available[p]:
                open_parts.remove(p)
            if left == 0:
                break
    return take


def find_ends(
    consumer: Consumer, topic: str, partitions: list[int], known: dict[int, int], timeout: float
) -> dict[int, int]:
    """The true next offset of every partition (high watermark), Tansu-safe.

    ``known`` holds offsets already known to exist (the current start): the search never
    goes below them, so an end never moves backwards.
    """
    ends: dict[int, int] = {}
    for p in partitions:
        try:
            _, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)
        except KafkaException as e:
            raise BrokerError(f"cannot list offsets of {topic}[{p}]: {e}") from e
        ends[p] = max(hi, known.get(p, 0))
    consumer.assign([TopicPartition(topic, p, ends[p]) for p in partitions])
    pending = set(partitions)
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=0.05):
                err = msg.error()
                p, off = int(msg.partition() or 0), int(msg.offset() or 0)
                if err is None:
                    ends[p] = max(ends[p], off + 1)
                elif err.code() == KafkaError._PARTITION_EOF:
                    ends[p] = max(ends[p], off)
                    pending.discard(p)
                else:
                    raise BrokerError(f"fetching {topic}[{p}] to find its end failed: {err}")
    finally:
        consumer.unassign()
    if pending:
        raise BrokerError(f"no end-of-partition answer for {topic} partitions {sorted(pending)} within {timeout:.0f}s")
    return ends


class KafkaStreamReader(DataSourceStreamReader):
    """Plans offset ranges on the driver and reads them with ``assign()`` in tasks."""

    def __init__(self, schema: StructType, options: dict[str, str]) -> None:
        options = {k.lower(): v for k, v in options.items()}  # Spark option names are case-insensitive
        try:
            self.bootstrap = options["kafka.bootstrap.servers"]
            self.topic = options["subscribe"]
        except KeyError as e:
            raise BrokerError(f"option {e.args[0]!r} is required by the {SOURCE_NAME} source") from e
        self.starting = options.get("startingoffsets", "earliest")
        if self.starting not in ("earliest", "latest"):
            raise BrokerError(f"startingOffsets must be 'earliest' or 'latest', got {self.starting!r}")
        raw_max = options.get("maxoffsetspertrigger")
        self.max_offsets = int(raw_max) if raw_max else None
        if self.max_offsets is not None and self.max_offsets < 1:
            raise BrokerError(f"maxOffsetsPerTrigger must be >= 1, got {raw_max}")
        self.timeout = float(options.get("timeoutseconds", "30"))
        self.arrow_schema = to_arrow_schema(schema, timezone="UTC")
        self._partitions: list[int] | None = None

    # --- driver side -------------------------------------------------------------------
    def _admin(self) -> Consumer:
        return cached_consumer(self.bootstrap)

    def _partition_ids(self) -> list[int]:
        try:
            md = self._admin().list_topics(self.topic, timeout=self.timeout).topics.get(self.topic)
        except KafkaException as e:
            raise BrokerError(f"no Kafka broker answers at {self.bootstrap}") from e
        if md is None or md.error is not None or not md.partitions:
            raise BrokerError(f"topic {self.topic!r} does not exist on {self.bootstrap}")
        return sorted(md.partitions)

    def _offsets(self, by_partition: dict[int, int]) -> dict[str, Any]:
        return {self.topic: {str(p): int(o) for p, o in sorted(by_partition.items())}}

    def _parse(self, offset: dict[str, Any]) -> dict[int, int]:
        return {int(p): int(o) for p, o in offset.get(self.topic, {}).items()}

    def initialOffset(self) -> dict[str, Any]:
        parts = self._partition_ids()
        if self.starting == "latest":
            return self._offsets(find_ends(self._admin(), self.topic, parts, {}, self.timeout))
        starts: dict[int, int] = {}
        for p in parts:
            try:
                lo, _ = self._admin().get_watermark_offsets(TopicPartition(self.topic, p), timeout=self.timeout)
            except KafkaException as e:
                raise BrokerError(f"cannot list offsets of {self.topic}[{p}]: {e}") from e
            starts[p] = max(lo, 0)
        return self._offsets(starts)

    def getDefaultReadLimit(self) -> ReadLimit:
        return ReadAllAvailable() if self.max_offsets is None else ReadMaxRows(self.max_offsets)

    def latestOffset(self, start: dict[str, Any], limit: ReadLimit) -> dict[str, Any]:
        begin = self._parse(start)
        parts = self._partition_ids()
        for p in parts:  # partitions added since the last batch start at their beginning
            begin.setdefault(p, 0)
        ends = find_ends(self._admin(), self.topic, parts, begin, self.timeout)
        if isinstance(limit, ReadMaxRows):
            take = split_limit({p: ends[p] - begin[p] for p in parts}, limit.max_rows)
            ends = {p: begin[p] + take[p] for p in parts}
        return self._offsets(ends)

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> list[KafkaRange]:
        begin, stop = self._parse(start), self._parse(end)
        return [KafkaRange(self.topic, p, begin.get(p, 0), e) for p, e in sorted(stop.items()) if e > begin.get(p, 0)]

    def commit(self, end: dict[str, Any]) -> None:
        """Nothing to do: progress lives in Spark's checkpoint, not in a consumer group."""

    # --- task side ---------------------------------------------------------------------
    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, KafkaRange)
        yield from read_range(self.bootstrap, partition, self.arrow_schema)


def read_range(bootstrap: str, part: KafkaRange, arrow_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the messages in ``part`` (at most :data:`READ_CHUNK` rows each)."""
    consumer = cached_consumer(bootstrap)
    consumer.assign([TopicPartition(part.topic, part.partition, part.start if part.start > 0 else OFFSET_BEGINNING)])
    next_offset = part.start
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while next_offset < part.end:
            want = min(READ_CHUNK, part.end - next_offset)
            keys: list[bytes | None] = []
            values: list[bytes | None] = []
            offsets: list[int] = []
            stamps: list[int | None] = []
            for msg in consumer.consume(num_messages=want, timeout=1.0):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise BrokerError(f"reading {part.topic}[{part.partition}] failed: {err}")
                off = int(msg.offset() or 0)  # never None for a message without error
                if off < next_offset or off >= part.end:
                    continue
                keys.append(msg.key())
                values.append(msg.value())
                offsets.append(off)
                kind, ms = msg.timestamp()
                stamps.append(ms * 1000 if kind != 0 else None)  # 0 = TIMESTAMP_NOT_AVAILABLE
                next_offset = off + 1
            if offsets:
                deadline = time.monotonic() + READ_TIMEOUT_S
                yield _batch(arrow_schema, part, keys, values, offsets, stamps)
            elif time.monotonic() > deadline:
                raise BrokerError(
                    f"{part.topic}[{part.partition}] offsets {next_offset}..{part.end - 1} did not arrive "
                    f"within {READ_TIMEOUT_S:.0f}s (deleted by retention?)"
                )
    finally:
        consumer.unassign()


def _batch(
    schema: pa.Schema,
    part: KafkaRange,
    keys: list[bytes | None],
    values: list[bytes | None],
    offsets: list[int],
    stamps: list[int | None],
) -> pa.RecordBatch:
    n = len(offsets)
    arrays = {
        "key": pa.array(keys, pa.binary()),
        "value": pa.array(values, pa.binary()),
        "topic": pa.array([part.topic] * n, pa.string()),
        "partition": pa.array([part.partition] * n, pa.int32()),
        "offset": pa.array(offsets, pa.int64()),
        "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
    }
    return pa.RecordBatch.from_arrays([arrays[f.name].cast(f.type) for f in schema], schema=schema)


class KafkaDataSource(DataSource):
    """``spark.readStream.format("fraudguard_kafka")`` with the connector's option names:
    ``kafka.bootstrap.servers``, ``subscribe`` (one topic), ``startingOffsets``
    (``earliest`` | ``latest``) and ``maxOffsetsPerTrigger``."""

    @classmethod
    def name(cls) -> str:
        return SOURCE_NAME

    def schema(self) -> str:
        return SCHEMA

    def streamReader(self, schema: StructType) -> KafkaStreamReader:
        return KafkaStreamReader(schema, dict(self.options))
