"""The engine benchmark's stage clock: wrappers forward everything and book CPU per stage."""

from __future__ import annotations

import pandas as pd

from fraudguard.bench.stages import StageClock, TimedProcessor, TimedSink, instrument, stage_report
from fraudguard.io.sinks.base import SinkSet


class RecordingSink:
    name = "recording"

    def __init__(self) -> None:
        self.producer = object()
        self.calls: list[str] = []

    def setup(self) -> None:
        self.calls.append("setup")

    def write(self, frame: pd.DataFrame, *, batch_id: str) -> None:
        self.calls.append(f"write {len(frame)} {batch_id}")

    def flush(self) -> None:
        self.calls.append("flush")

    def close(self) -> None:
        self.calls.append("close")


class DoublingProcessor:
    version = "v7"

    def at_batch_boundary(self) -> bool:
        return True

    def process(self, frame: pd.DataFrame, partitions: object) -> pd.DataFrame:
        return frame * 2

    def warm(self, frame: pd.DataFrame) -> str:
        return "warmed"


class Engine:
    def __init__(self) -> None:
        self.processor = DoublingProcessor()
        self.sinks = SinkSet([RecordingSink()])


def test_wrappers_forward_calls_and_attributes_and_book_each_stage() -> None:
    engine = Engine()
    inner = engine.sinks.sinks[0]
    clock = instrument(engine)
    sink, proc = engine.sinks.sinks[0], engine.processor
    assert isinstance(sink, TimedSink) and isinstance(proc, TimedProcessor)
    assert sink.producer is inner.producer  # delivery groups sinks by their producer
    sink.setup()
    sink.write(pd.DataFrame({"a": [1, 2]}), batch_id="b1")
    sink.flush()
    sink.close()
    assert inner.calls == ["setup", "write 2 b1", "flush", "close"]
    assert proc.process(pd.DataFrame({"a": [1]}), [0])["a"].tolist() == [2]
    assert proc.version == "v7" and proc.at_batch_boundary() and proc.warm(pd.DataFrame()) == "warmed"
    assert set(clock.seconds) == {"sink:recording", "features+models"}
    assert clock.backend_s is None  # not a PostgreSQL sink


def test_stage_report_divides_by_rows_and_takes_processing_out_of_the_loop() -> None:
    clock = StageClock()
    clock.add("features+models", 0.004)
    clock.add("sink:parquet", 0.001)
    clock.add("sink:parquet", 0.001)
    clock.backend_s = 0.01
    report = stage_report(clock, 1000, loop_cpu_s=0.010, process_cpu_s=0.030)
    assert report == {
        "poll+decode+loop": 6.0,
        "features+models": 4.0,
        "sink:parquet": 2.0,
        "python_process_total": 30.0,
        "postgres_backend": 10.0,
    }
    assert stage_report(StageClock(), 0, 0.0, 0.0)["python_process_total"] == 0.0
