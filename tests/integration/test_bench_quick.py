"""Smoke test: every benchmark still runs in quick mode and its report keeps its shape.

Timings are never asserted (they belong to the report); what is checked is that each
benchmark ran against the real broker, PostgreSQL, uvicorn servers and Spark, that the
rows it claims to have processed arrived where they should, that every report line has
a status, and that nothing it started is left running.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from fraudguard.bench.runner import BenchSizes, parse_only, run_bench
from fraudguard.errors import FraudGuardError

pytestmark = pytest.mark.integration

STATUSES = {"met", "missed", "info"}


def tiny() -> BenchSizes:
    """Quick mode, smaller still where the quick sizes are not already minimal."""
    return dataclasses.replace(
        BenchSizes.quick(),
        engine_rows=2_000,
        engine_group_rows=500,
        engine_naive_rows=10,
        core_naive_rows=5,
        latency_seconds=0.5,
        api_requests=250,
        api_naive_requests=100,
        api_concurrency=50,
        spark_rows=1_000,
        spark_max_offsets=500,
        spark_cluster_rows=1_000,
        spark_cluster_max_offsets=500,
    )


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _lines_of(report: dict[str, Any], bench: str) -> list[dict[str, Any]]:
    return [line for line in report["lines"] if line["bench"] == bench]


def _check_common(report: dict[str, Any], names: list[str]) -> None:
    assert set(report["results"]) == set(names)
    for name in names:
        section = report["results"][name]
        assert "error" not in section, f"{name}: {section.get('error')}\n{section.get('traceback')}"
        lines = _lines_of(report, name)
        assert lines, name
        for line in lines:
            assert line["status"] in STATUSES, line
            assert isinstance(line["measured"], float), line
            if line["target"] is not None:
                assert line["status"] in {"met", "missed"}, line
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["ram_gib"] > 0 and len(machine["load_average_start"]) == 3
    json.dumps(report)  # the report is plain data


def test_every_benchmark_but_spark_runs_in_quick_mode(tmp_path: Path) -> None:
    names = ["training", "core", "engine", "latency", "api"]
    before = _children()
    report = run_bench(names, quick=True, sizes=tiny())
    _check_common(report, names)
    r = report["results"]

    assert r["training"]["rows"] == 20_000 and 0.0 <= r["training"]["pr_auc"] <= 1.0
    assert 0.0 < r["training"]["random_pr_auc"] < r["training"]["pr_auc"]  # the model beats a random score
    assert [b["batch"] for b in r["core"]["batches"]] == [1, 100, 10_000]
    single, frames = r["core"]["batches"][0], r["core"]["frames_batch1"]
    assert single["rows"] == frames["rows"] == 30 and single["cpu_us"] > 0 and "record in" in single["path"]
    assert r["core"]["naive"]["rows"] == 5

    engine = r["engine"]
    for path, rows in (("assign", 2_000), ("group", 500)):
        assert engine[path]["rows"] == rows
        assert engine[path]["rows_in_postgres"] == rows and engine[path]["rows_in_parquet"] == rows
        assert {"PostgresSink", "ParquetSink", "KafkaPredictionSink", "KafkaAlertSink"} <= set(engine[path]["sinks"])
    assert engine["naive"]["rows"] == engine["naive"]["rows_in_postgres"] == 10
    both = engine["processes"]  # two engine processes, each assign()ed half the partitions
    assert both["rows"] == both["rows_in_postgres"] == both["rows_in_parquet"] == 2_000
    assert len(both["rows_per_process"]) == 2 and min(both["rows_per_process"]) > 0
    assert sorted(p for share in both["partitions"] for p in share) == list(range(sum(map(len, both["partitions"]))))

    runs = r["latency"]["runs"]
    assert [run["tps"] for run in runs] == [1_000.0, 5_000.0]
    for run in runs:
        assert run["rows"] == run["sent"] > 0
        assert run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
    floor = r["latency"]["broker_floor"]  # the baseline: the broker alone, same rates and publisher
    assert [run["tps"] for run in floor] == [1_000.0, 5_000.0]
    for run in floor:
        assert run["received"] == run["sent"] > 0
        assert 0 <= run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]

    api = r["api"]
    for kind in ("fraudguard", "fraudguard_record", "naive"):
        assert api[kind]["ok"] > 0 and not api[kind]["errors"], api[kind]
    assert api["fraudguard_record"]["record"] is True and api["fraudguard"]["record"] is False

    leftover = [p for p in _children() - before if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert not leftover, f"processes left running: {leftover}"


def test_models_wrk_and_memory_benchmarks_run_in_quick_mode() -> None:
    import shutil

    if shutil.which("wrk") is None:
        pytest.skip("Debian's wrk is not installed (scripts/test.sh installs it as root)")
    names = ["models", "backends", "wrk", "memory"]
    before = _children()
    report = run_bench(names, quick=True, sizes=tiny())
    _check_common(report, names)
    models = report["results"]["models"]
    assert models["compiled_available"] is True
    assert [b["batch"] for b in models["batches"]] == [1, 100, 10_000]
    assert max(models["max_abs_diff"].values()) <= 1e-5
    backends = report["results"]["backends"]["backends"]
    assert backends["treelite_gtil"]["xgboost"]["max_abs_diff"] <= 1e-5
    assert backends["fraudguard_graph"]["all_three"]["max_abs_diff"] <= 1e-5
    wrk = report["results"]["wrk"]
    for conn in ("c1", "c50"):
        run = wrk[conn]
        assert run["requests"] > 0 and run["non_2xx"] == 0 and run["socket_errors"] == 0, run
        assert run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
        assert run["server_cpu_us_per_request"] > 0
    memory = report["results"]["memory"]
    assert memory["cards"] >= 20_000  # every card kept: none reached its TTL
    assert memory["state_bytes_per_card"] > 0 and memory["rss_mib"] > 0
    leftover = [p for p in _children() - before if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert not leftover, f"processes left running: {leftover}"


@pytest.mark.spark
def test_spark_benchmark_runs_in_quick_mode() -> None:
    report = run_bench(["spark"], quick=True, sizes=tiny())
    _check_common(report, ["spark"])
    spark = report["results"]["spark"]
    assert spark["rows"] == spark["sent"] == 1_000
    assert spark["rows_in_postgres"] == spark["rows_in_parquet"] == 1_000
    assert spark["batches"] >= 2


def test_cli_writes_json_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "fraudguard", "bench", "--quick", "--only", "core", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "bench.json").read_text())
    assert set(report["results"]) == {"core"} and report["quick"] is True
    assert {line["status"] for line in _lines_of(report, "engine")} == {"not run"}
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "core" in proc.stdout and "target" in proc.stdout


def test_unknown_benchmark_is_refused_by_name() -> None:
    with pytest.raises(FraudGuardError, match=r"unknown benchmark.*bogus"):
        parse_only("core,bogus")
    assert parse_only("spark,core") == ["core", "spark"]
    proc = subprocess.run(
        [sys.executable, "-m", "fraudguard", "bench", "--only", "nope"], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0 and "nope" in proc.stderr
