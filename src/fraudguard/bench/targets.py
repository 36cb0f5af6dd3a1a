"""The targets the benchmark tracks, and the report lines that compare results with them.

Targets are reported, never asserted: a missed target is a finding for the report, not a
failed run. Lines without a target (context such as the naive baselines or training time)
show the measured value with status ``info``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Getter = Callable[[dict[str, Any]], float | None]


@dataclass(frozen=True)
class Line:
    """One row of the report: where the value lives in the results and what it should be."""

    bench: str
    measure: str
    unit: str
    get: Getter
    target: float | None = None
    higher_is_better: bool = True

    def evaluate(self, results: dict[str, Any]) -> dict[str, Any]:
        """``{bench, measure, unit, target, measured, status}``; status met / missed / info / not run / failed."""
        section = results.get(self.bench)
        row: dict[str, Any] = {
            "bench": self.bench,
            "measure": self.measure,
            "unit": self.unit,
            "target": self.target,
            "higher_is_better": self.higher_is_better,
        }
        if section is None:
            return {**row, "measured": None, "status": "not run"}
        if "error" in section:
            return {**row, "measured": None, "status": "failed"}
        try:
            value = self.get(section)
        except (KeyError, IndexError, TypeError):
            value = None
        if value is None:
            return {**row, "measured": None, "status": "failed"}
        status = "info"
        if self.target is not None:
            ok = value >= self.target if self.higher_is_better else value <= self.target
            status = "met" if ok else "missed"
        return {**row, "measured": float(value), "status": status}


def _engine_cpu(stage: str) -> Getter:
    """CPU µs per transaction of one engine stage (``bench/stages.py``), assign() run."""
    return lambda s: s["assign"]["cpu_us_per_tx"].get(stage)


ENGINE_STAGES = (
    "poll+decode+loop",
    "features+models",
    "sink:postgres",
    "sink:parquet",
    "sink:kafka-predictions",
    "sink:kafka-alerts",
    "python_process_total",
)
"""Stages always measured; ``postgres_backend`` is in the JSON only (a remote server's CPU cannot be read)."""


def _latency_p99(tps: float) -> Getter:
    def get(section: dict[str, Any]) -> float | None:
        return next((r["p99_ms"] for r in section["runs"] if r["tps"] == tps), None)

    return get


def _floor_p99(tps: float) -> Getter:
    def get(section: dict[str, Any]) -> float | None:
        return next((r["p99_ms"] for r in section.get("broker_floor", []) if r["tps"] == tps), None)

    return get


def _kafka_workers(workers: int, key: str) -> Getter:
    def get(section: dict[str, Any]) -> float | None:
        return next((g[key] for g in section["group"] if g["workers"] == workers), None)

    return get


def _kafka_p99(tps: float, runs: str = "latency") -> Getter:
    def get(section: dict[str, Any]) -> float | None:
        return next((r["p99_ms"] for r in section[runs] if r["tps"] == tps), None)

    return get


def _core_batch(batch: int) -> Getter:
    def get(section: dict[str, Any]) -> float | None:
        return next((b["rows_s"] for b in section["batches"] if b["batch"] == batch), None)

    return get


def _models(batch: int, key: str) -> Getter:
    def get(section: dict[str, Any]) -> float | None:
        return next((b[key] for b in section["batches"] if b["batch"] == batch), None)

    return get


def _b(section: dict[str, Any], backend: str, model: str, batch: str) -> float:
    return float(section["backends"][backend][model]["us_per_call"][batch])


def _b3(section: dict[str, Any], backend: str) -> float:
    return sum(_b(section, backend, m, "1") for m in ("xgboost", "random_forest", "isolation_forest"))


def _wrk(conn: str, key: str) -> Getter:
    return lambda s: s[conn][key]


LINES: tuple[Line, ...] = (
    Line("models", "3 models + ensemble, batch 1, library", "rows/s", _models(1, "library_rows_s")),
    Line("models", "batch 1, compiled (ONNX Runtime)", "rows/s", _models(1, "compiled_rows_s")),
    Line("models", "batch 100, compiled / library", "x", _models(100, "speedup")),
    Line("models", "batch 10,000, compiled / library", "x", _models(10_000, "speedup")),
    Line("models", "max |compiled - library| score", "", lambda s: max(s["max_abs_diff"].values()), 1e-5, False),
    Line(
        "backends", "fraudguard graph, all three, batch 1", "us", lambda s: _b(s, "fraudguard_graph", "all_three", "1")
    ),
    Line("backends", "converters + ORT, three calls, batch 1", "us", lambda s: _b3(s, "converters+onnxruntime")),
    Line("backends", "treelite GTIL, three calls, batch 1", "us", lambda s: _b3(s, "treelite_gtil")),
    Line("backends", "library, three calls, batch 1", "us", lambda s: _b3(s, "library")),
    Line(
        "backends",
        "skl2onnx Random Forest max |diff|",
        "",
        lambda s: s["backends"]["converters+onnxruntime"]["random_forest"]["max_abs_diff"],
    ),
    Line("core", "features+models+ensemble, batch 10,000", "tx/s", lambda s: s["rows_s"], 100_000),
    Line("core", "batch 100", "tx/s", _core_batch(100)),
    Line("core", "batch 1 (one transaction: record in, prediction out)", "tx/s", _core_batch(1), 5_000),
    Line("core", "batch 1, thread CPU per transaction", "us", lambda s: s["batches"][0]["cpu_us"], None, False),
    Line("core", "batch 1 as one-row frames (transform + score_frame)", "tx/s", lambda s: s["frames_batch1"]["rows_s"]),
    Line("core", "naive per-row", "tx/s", lambda s: s["naive"]["rows_s"]),
    Line("core", "batch 10,000 / naive", "x", lambda s: s["ratio_vs_naive"]),
    Line("engine", "every sink, assign() read", "tx/s", lambda s: s["assign"]["rows_s"], 40_000),
    Line("engine", "every sink, 2 processes, assign() halves", "tx/s", lambda s: s["processes"]["rows_s"], 40_000),
    Line("engine", "every sink, consumer-group read", "tx/s", lambda s: s["group"]["rows_s"]),
    Line("engine", "naive per-message consumer", "tx/s", lambda s: s["naive"]["rows_s"]),
    Line("engine", "engine / naive consumer", "x", lambda s: s["ratio_vs_naive"], 20),
    *(Line("engine", f"CPU per tx: {st}", "us", _engine_cpu(st), None, False) for st in ENGINE_STAGES),
    Line("latency", "p99 produce->decision at 1,000 tx/s", "ms", _latency_p99(1_000.0), 50, higher_is_better=False),
    Line("latency", "p99 produce->decision at 5,000 tx/s", "ms", _latency_p99(5_000.0), 100, higher_is_better=False),
    Line("latency", "baseline: broker alone, p99 at 1,000 tx/s", "ms", _floor_p99(1_000.0), None, False),
    Line("latency", "baseline: broker alone, p99 at 5,000 tx/s", "ms", _floor_p99(5_000.0), None, False),
    Line("api", "POST /v1/score, 200 concurrent", "req/s", lambda s: s["rps"], 5_000),
    Line("api", "p99 at 200 concurrent", "ms", lambda s: s["p99_ms"], 50, higher_is_better=False),
    Line("api", "record=true (state updated)", "req/s", lambda s: s["fraudguard_record"]["throughput_rps"]),
    Line("kafka", "Apache Kafka, group read, 1 worker, every sink", "tx/s", _kafka_workers(1, "rows_s")),
    Line("kafka", "Apache Kafka, group read, 1 worker, steady", "tx/s", _kafka_workers(1, "steady_rows_s")),
    Line("kafka", "Apache Kafka, group read, 2 workers, every sink", "tx/s", _kafka_workers(2, "rows_s")),
    Line("kafka", "Apache Kafka, group read, 2 workers, steady", "tx/s", _kafka_workers(2, "steady_rows_s")),
    Line(
        "kafka",
        "Apache Kafka p99 produce->decision at 1,000 tx/s",
        "ms",
        _kafka_p99(1_000.0),
        50,
        higher_is_better=False,
    ),
    Line(
        "kafka",
        "Apache Kafka p99 produce->decision at 5,000 tx/s",
        "ms",
        _kafka_p99(5_000.0),
        100,
        higher_is_better=False,
    ),
    Line(
        "kafka",
        "Apache Kafka, 2 worker processes, p99 produce->decision at 1,000 tx/s",
        "ms",
        _kafka_p99(1_000.0, "latency_2_workers"),
        50,
        higher_is_better=False,
    ),
    Line(
        "kafka",
        "Apache Kafka, 2 worker processes, p99 produce->decision at 5,000 tx/s",
        "ms",
        _kafka_p99(5_000.0, "latency_2_workers"),
        100,
        higher_is_better=False,
    ),
    Line("api", "record=true p99", "ms", lambda s: s["fraudguard_record"]["latency_ms"]["p99"], higher_is_better=False),
    Line("api", "naive server", "req/s", lambda s: s["naive"]["throughput_rps"]),
    Line("api", "API / naive throughput", "x", lambda s: s["ratio_vs_naive"], 5),
    Line("api", "naive p99 / API p99", "x", lambda s: s["p99_ratio_naive_over_fraudguard"]),
    Line("wrk", "POST /v1/score, 1 connection, p50", "ms", _wrk("c1", "p50_ms"), 2, higher_is_better=False),
    Line("wrk", "1 connection, p99", "ms", _wrk("c1", "p99_ms"), 5, higher_is_better=False),
    Line("wrk", "200 connections", "req/s", lambda s: s["rps"], 5_000),
    Line("wrk", "200 connections, p99", "ms", lambda s: s["p99_ms"], 50, higher_is_better=False),
    Line("wrk", "server CPU per request, 1 connection", "us", _wrk("c1", "server_cpu_us_per_request"), None, False),
    Line("memory", "state payload per card, 1M cards", "B", lambda s: s["state_bytes_per_card"]),
    Line("memory", "RSS growth per card, in process", "B", lambda s: s["rss_growth_bytes_per_card"], 300, False),
    Line("memory", "RSS with 1M cards", "MiB", lambda s: s["rss_mib"], higher_is_better=False),
    Line("spark", "local[2], steady (after first batch)", "tx/s", lambda s: s["rows_s"], 10_000),
    Line("spark", "local[2], overall incl. start", "tx/s", lambda s: s["overall_rows_s"]),
    Line(
        "spark_cluster",
        "standalone 2x1 core + Kafka connector: cluster start",
        "s",
        lambda s: s["cluster_start_s"],
        higher_is_better=False,
    ),
    Line("spark_cluster", "standalone: query start", "s", lambda s: s["startup_s"], higher_is_better=False),
    Line("spark_cluster", "standalone: steady (after first batch)", "tx/s", lambda s: s["rows_s"]),
    Line(
        "spark_cluster",
        "standalone: p99 produce->decision at 1,000 tx/s",
        "ms",
        lambda s: s["latency"]["p99_ms"],
        higher_is_better=False,
    ),
    Line("training", "train time", "s", lambda s: s["train_s"], higher_is_better=False),
    Line("training", "test PR-AUC, ensemble", "", lambda s: s["pr_auc"]),
    Line("training", "test PR-AUC, amount only (naive)", "", lambda s: s["amount_only_pr_auc"]),
    Line("training", "test PR-AUC, random (fraud rate)", "", lambda s: s["random_pr_auc"]),
)


def evaluate_all(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every report line for ``results`` (benchmark name -> its result dict)."""
    return [line.evaluate(results) for line in LINES]
