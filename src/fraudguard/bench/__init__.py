"""``fraudguard bench``: every performance claim measured side by side with a naive baseline.

One module per benchmark (:mod:`~fraudguard.bench.core`, :mod:`~fraudguard.bench.engine`,
:mod:`~fraudguard.bench.latency`, :mod:`~fraudguard.bench.api`, :mod:`~fraudguard.bench.spark`,
:mod:`~fraudguard.bench.training`), the naive baselines (:mod:`~fraudguard.bench.naive`,
:mod:`~fraudguard.bench.naive_consumer`, :mod:`~fraudguard.bench.naive_api`), the shared
services (:mod:`~fraudguard.bench.env`), the runner and the report (table, JSON, PNG).
Targets are reported, never asserted.
"""

from __future__ import annotations

from fraudguard.bench.runner import BENCHMARKS, BenchSizes, parse_only, run_bench

__all__ = ["BENCHMARKS", "BenchSizes", "parse_only", "run_bench"]
