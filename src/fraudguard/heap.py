"""Keep a long-running process's start-up objects out of the collector's full passes.

A scoring process imports pandas, scikit-learn, XGBoost and ONNX Runtime and loads a model
before it serves: hundreds of thousands of objects that live as long as the process. Python's
full (generation-2) collection walks every tracked object, holding the GIL, so each one
stalls every thread: measured in the local engine at 1,000 tx/s, full passes of up to
137 ms, seven in ten seconds, were the latency's p99 (162 ms; 86-93 ms after freezing).
``gc.freeze()`` moves the objects alive at that moment to a permanent generation that
collections skip; objects made afterwards are collected as before. Garbage is collected
first so that none of it is frozen.

Called by the serving processes only (``fraudguard stream`` workers, ``fraudguard api``,
the benchmarks that host an engine), never by library code: a test process that froze its
heap would keep every later cycle among those objects alive.
"""

from __future__ import annotations

import gc
import sys


def freeze_startup() -> None:
    """Collect, then freeze everything alive now (call once start-up is over)."""
    gc.collect()
    gc.freeze()


_worker_frozen = False


def freeze_spark_worker() -> None:
    """:func:`freeze_startup` once per PySpark Python worker, from the Spark engine's
    functions once their model or processor is loaded; a no-op in any other process
    (a test calling those functions directly). A reused worker serves every micro-batch,
    so its start-up objects (pyspark, pandas, the model) would otherwise be walked by each
    full collection of each batch's many small objects."""
    global _worker_frozen
    if not _worker_frozen and "pyspark.worker" in sys.modules:
        _worker_frozen = True
        freeze_startup()
