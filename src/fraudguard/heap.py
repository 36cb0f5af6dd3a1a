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


def freeze_startup() -> None:
    """Collect, then freeze everything alive now (call once start-up is over)."""
    gc.collect()
    gc.freeze()
