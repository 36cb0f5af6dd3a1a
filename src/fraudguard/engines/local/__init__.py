"""The local streaming engine: consumer-group micro-batches scored into every sink.

Modules: ``batching`` (poll, decode, validate, de-duplicate), ``offsets`` (commit, lag),
``status`` (counters, latency, status line), ``models`` (current-model watcher),
``rebalance`` (per-card state follows partitions), ``scoring`` (features + model),
``engine`` (the loop, shutdown; ``contracts``, ``pending``, ``retrying`` hold its
protocols, batch settling and retries), ``delivery`` (one batch to every
sink, concurrently), ``runner`` (settings -> engine, N workers),
``supervisor`` (child processes).
"""

from fraudguard.engines.local.engine import LocalEngine, Processor, Stopped
from fraudguard.engines.local.runner import EngineOptions, build_engine, run_worker, run_workers
from fraudguard.engines.local.status import EngineStats

__all__ = [
    "EngineOptions",
    "EngineStats",
    "LocalEngine",
    "Processor",
    "Stopped",
    "build_engine",
    "run_worker",
    "run_workers",
]
