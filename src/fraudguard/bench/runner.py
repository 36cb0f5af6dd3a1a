"""Run the selected benchmarks in one go on one machine and assemble the report.

Order: training first (its model is the one the others score with; without it a smaller
model is trained for them), then core, engine, latency, API, Spark. A benchmark that fails
is recorded with its error and the run goes on: the report says ``failed`` on its lines.
Services are opened once (:class:`~fraudguard.bench.env.BenchEnv`) and closed at the end,
whatever happens.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from fraudguard.bench.env import BenchEnv, make_payloads
from fraudguard.bench.latency import WARMUP_S
from fraudguard.bench.machine import machine_info
from fraudguard.bench.targets import evaluate_all
from fraudguard.errors import FraudGuardError

log = logging.getLogger(__name__)

BENCHMARKS: tuple[str, ...] = (
    "training",
    "models",
    "backends",
    "core",
    "engine",
    "latency",
    "kafka",
    "api",
    "wrk",
    "memory",
    "spark",
    "spark_cluster",
)
NEEDS_SERVICES = frozenset({"engine", "latency", "kafka", "spark", "spark_cluster"})


@dataclass
class BenchSizes:
    """How much each benchmark does; :meth:`quick` is the CI smoke-test size."""

    training_rows: int = 1_000_000
    model_rows: int = 200_000
    small_model: bool = False
    core_sizes: dict[int, int] = field(default_factory=lambda: {1: 2_000, 100: 20_000, 10_000: 100_000})
    core_naive_rows: int = 300
    core_warm_rows: int = 20_000
    engine_rows: int = 100_000
    engine_group_rows: int = 20_000
    engine_naive_rows: int = 300
    engine_batch: int = 5_000
    latency_rates: tuple[float, ...] = (1_000.0, 5_000.0)
    latency_seconds: float = 20.0
    kafka_rows: int = 100_000
    kafka_latency_seconds: float = 20.0
    api_requests: int = 20_000
    api_naive_requests: int = 3_000
    api_concurrency: int = 200
    api_budget_s: float = 60.0
    models_rows: int = 10_000
    models_seconds: float = 2.0
    wrk_seconds: float = 15.0
    memory_cards: int = 1_000_000
    spark_rows: int = 400_000
    spark_max_offsets: int = 100_000
    """Four catch-up batches of the default cap (``spark_max_offsets_per_trigger``)."""
    spark_cluster_rows: int = 40_000
    spark_cluster_max_offsets: int = 10_000
    spark_timeout_s: float = 420.0
    spark_cluster_latency_rows: int = 20_500
    """500 warm-up rows, then 20 s at 1,000 tx/s."""

    @classmethod
    def quick(cls) -> BenchSizes:
        """Tiny sizes: every benchmark runs, in a few minutes in all (numbers are not meaningful)."""
        return cls(
            training_rows=20_000,
            model_rows=20_000,
            small_model=True,
            core_sizes={1: 30, 100: 1_000, 10_000: 10_000},
            core_naive_rows=20,
            core_warm_rows=2_000,
            engine_rows=4_000,
            engine_group_rows=1_000,
            engine_naive_rows=50,
            engine_batch=2_000,
            latency_seconds=1.0,
            kafka_rows=2_000,
            kafka_latency_seconds=1.0,
            api_requests=400,
            api_naive_requests=200,
            api_budget_s=5.0,
            models_rows=10_000,
            models_seconds=0.3,
            wrk_seconds=1.0,
            memory_cards=20_000,
            spark_rows=2_000,
            spark_max_offsets=1_000,
            spark_cluster_rows=2_000,
            spark_cluster_max_offsets=1_000,
            spark_timeout_s=300.0,
            spark_cluster_latency_rows=1_500,
        )


def _train_config(sizes: BenchSizes) -> Any:
    from fraudguard.models.estimators import TrainConfig

    return TrainConfig(xgb_trees=40, rf_trees=15, if_trees=20) if sizes.small_model else None


def _run_one(name: str, env: BenchEnv, sizes: BenchSizes) -> dict[str, Any]:
    from fraudguard.models.scorer import Scorer

    if name == "training":
        from fraudguard.bench.training import run_training

        return run_training(env.models_dir, sizes.training_rows, cfg=_train_config(sizes))
    if name == "models":
        from fraudguard.bench.compiled import run_models

        return run_models(env.models_dir, rows=sizes.models_rows, seconds=sizes.models_seconds)
    if name == "backends":
        from fraudguard.bench.backends import run_backends

        return run_backends(env.models_dir, rows=sizes.models_rows, seconds=sizes.models_seconds / 4)
    if name == "wrk":
        from fraudguard.bench.wrk import run_api_wrk

        return run_api_wrk(env.scenario_dir(), seconds=sizes.wrk_seconds, concurrency=sizes.api_concurrency)
    scorer = Scorer.load(env.models_dir)
    if name == "memory":
        from fraudguard.bench.memory import run_memory

        return run_memory(scorer, cards=sizes.memory_cards)
    if name == "core":
        from fraudguard.bench.core import run_core

        return run_core(scorer, sizes.core_sizes, sizes.core_naive_rows, sizes.core_warm_rows)
    if name == "engine":
        from fraudguard.bench.engine import run_engine

        return run_engine(
            env,
            scorer,
            make_payloads(sizes.engine_rows, seed=4),
            group_rows=sizes.engine_group_rows,
            naive_rows=sizes.engine_naive_rows,
            batch=sizes.engine_batch,
        )
    if name == "latency":
        from fraudguard.bench.latency import run_latency

        most = int(max(sizes.latency_rates) * (sizes.latency_seconds + WARMUP_S))
        return run_latency(env, make_payloads(most, seed=5), list(sizes.latency_rates), sizes.latency_seconds)
    if name == "kafka":
        from fraudguard.bench.kafka import run_kafka

        return run_kafka(
            env,
            make_payloads(
                max(sizes.kafka_rows, int(max(sizes.latency_rates) * (sizes.kafka_latency_seconds + WARMUP_S))), seed=6
            ),
            rates=list(sizes.latency_rates),
            latency_seconds=sizes.kafka_latency_seconds,
            batch=sizes.engine_batch,
            rows=sizes.kafka_rows,
        )
    if name == "api":
        from fraudguard.bench.api import run_api

        return run_api(
            env.scenario_dir(),
            requests=sizes.api_requests,
            naive_requests=sizes.api_naive_requests,
            concurrency=sizes.api_concurrency,
            budget_s=sizes.api_budget_s,
        )
    if name == "spark":
        from fraudguard.bench.spark import run_spark

        return run_spark(
            env,
            make_payloads(sizes.spark_rows, seed=4),
            max_offsets_per_trigger=sizes.spark_max_offsets,
            timeout_s=sizes.spark_timeout_s,
        )
    if name == "spark_cluster":
        from fraudguard.bench.spark_cluster import run_spark_cluster

        return run_spark_cluster(
            env,
            make_payloads(sizes.spark_cluster_rows, seed=4),
            make_payloads(sizes.spark_cluster_latency_rows, seed=6),
            max_offsets_per_trigger=sizes.spark_cluster_max_offsets,
            timeout_s=sizes.spark_timeout_s,
        )
    raise FraudGuardError(f"unknown benchmark {name!r} (choose from {', '.join(BENCHMARKS)})")


def _ensure_model(env: BenchEnv, sizes: BenchSizes, say: Callable[[str], None]) -> None:
    """Train the model the benchmarks score with, unless the training benchmark left one."""
    from fraudguard.devenv.registry import has_model, train_generated

    if has_model(env.models_dir):
        return
    say(f"training the benchmark model on {sizes.model_rows:,} generated rows")
    train_generated(env.models_dir, rows=sizes.model_rows, fraud_rate=0.01, seed=2, cfg=_train_config(sizes))


def parse_only(text: str | None) -> list[str]:
    """The benchmarks named in ``--only`` (comma-separated), in run order; all when empty."""
    if not text:
        return list(BENCHMARKS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise FraudGuardError(
            f"--only: unknown benchmark(s) {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})"
        )
    return [n for n in BENCHMARKS if n in names]


def run_bench(
    only: list[str],
    *,
    quick: bool = False,
    say: Callable[[str], None] | None = None,
    sizes: BenchSizes | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``only`` (names from :data:`BENCHMARKS`) and return the whole report as plain data.

    ``on_result`` receives the report so far after each benchmark (the CLI writes it to
    the JSON file, so a long run interrupted midway still leaves its numbers).
    """
    say = say or (lambda _m: None)
    sizes = sizes or (BenchSizes.quick() if quick else BenchSizes())
    machine = machine_info()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    env = BenchEnv.open(services=bool(NEEDS_SERVICES.intersection(only)))
    try:
        for name in only:
            if name != "training":
                _ensure_model(env, sizes, say)
            say(f"{name} ...")
            t0 = time.perf_counter()
            try:
                results[name] = _run_one(name, env, sizes)
            except Exception as e:  # one broken benchmark must not hide the others' numbers
                log.debug("benchmark %s failed", name, exc_info=True)
                results[name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
            results[name]["wall_s"] = round(time.perf_counter() - t0, 1)
            say(f"{name} done in {results[name]['wall_s']}s")
            if on_result is not None:
                on_result(_report(quick, machine, {}, sizes, started, results))
        services = {"broker": env.broker_note, "database": env.database_note}
    finally:
        env.close()
    return _report(quick, machine, services, sizes, started, results)


def _report(
    quick: bool,
    machine: dict[str, Any],
    services: dict[str, str],
    sizes: BenchSizes,
    started: float,
    results: dict[str, Any],
) -> dict[str, Any]:
    return {
        "quick": quick,
        "machine": machine,
        "services": services,
        "sizes": {k: (str(v) if isinstance(v, dict) else v) for k, v in asdict(sizes).items()},
        "wall_s": round(time.perf_counter() - started, 1),
        "results": dict(results),
        "lines": evaluate_all(results),
    }
