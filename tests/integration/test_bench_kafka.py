"""``fraudguard bench --only kafka`` in quick mode: the engine through a consumer group on
Apache Kafka (1 and 2 worker processes, every sink) and produce->decision latency (one
engine in process, and two worker processes)."""

from __future__ import annotations

import dataclasses

import pytest

from fraudguard.bench.runner import BenchSizes, run_bench
from tests.fixtures.broker import kafka_lib_or_skip

pytestmark = pytest.mark.integration


def test_kafka_benchmark_runs_in_quick_mode() -> None:
    kafka_lib_or_skip()
    sizes = dataclasses.replace(BenchSizes.quick(), kafka_rows=1_500, kafka_latency_seconds=0.5, engine_batch=500)
    report = run_bench(["kafka"], quick=True, sizes=sizes)
    section = report["results"]["kafka"]
    assert "error" not in section, f"{section.get('error')}\n{section.get('traceback')}"
    assert [g["workers"] for g in section["group"]] == [1, 2]
    for g in section["group"]:
        assert g["rows"] == g["rows_in_postgres"] == g["rows_in_parquet"] == 1_500
    assert [r["tps"] for r in section["latency"]] == [1_000.0, 5_000.0]
    for r in section["latency"]:
        assert r["rows"] == r["sent"] > 0 and r["read_path"] == "consumer group"
    assert [r["tps"] for r in section["latency_2_workers"]] == [1_000.0, 5_000.0]
    for r in section["latency_2_workers"]:  # every row scored once, by one of two joined workers
        assert r["rows"] == r["sent"] > 0 and r["workers"] == 2
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"]
    lines = [line for line in report["lines"] if line["bench"] == "kafka"]
    assert len(lines) == 8 and all(isinstance(line["measured"], float) for line in lines), lines
