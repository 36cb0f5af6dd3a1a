"""``freeze_startup`` collects garbage first and freezes what is alive (in a child process:
freezing the test process would keep later cycles among its objects alive)."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc, weakref
from fraudguard.heap import freeze_startup

class Node:
    pass

kept = Node()
kept.self = kept                      # a cycle still referenced
dead = Node()
dead.self = dead                      # a cycle already garbage
probe = weakref.ref(dead)
del dead
assert gc.get_freeze_count() == 0
freeze_startup()
assert probe() is None, "garbage alive before the freeze is collected, not frozen"
assert gc.get_freeze_count() > 0
assert kept not in gc.get_objects(), "the live cycle is frozen: full collections skip it"
later = Node()
later.self = later
probe = weakref.ref(later)
del later
gc.collect()
assert probe() is None, "objects made after the freeze are collected as before"
print("ok")
"""


def test_freeze_collects_first_freezes_the_living_and_keeps_collecting_later_garbage() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


WORKER_CHILD = """
import gc, sys, types
from fraudguard.heap import freeze_spark_worker

freeze_spark_worker()
assert gc.get_freeze_count() == 0, "outside a PySpark worker nothing is frozen"
sys.modules["pyspark.worker"] = types.ModuleType("pyspark.worker")  # what a Python worker has imported
freeze_spark_worker()
frozen = gc.get_freeze_count()
assert frozen > 0
gc.unfreeze()
freeze_spark_worker()
assert gc.get_freeze_count() == 0, "once per worker process"
print("ok")
"""


def test_spark_worker_freeze_happens_once_and_only_in_a_pyspark_worker() -> None:
    out = subprocess.run([sys.executable, "-c", WORKER_CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
