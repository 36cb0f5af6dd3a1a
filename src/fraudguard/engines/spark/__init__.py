"""The Spark Structured Streaming engine (``fraudguard stream --engine spark``).

pyspark is an optional extra: nothing here imports it until the engine runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraudguard.config import Settings
    from fraudguard.engines.spark.run import SparkRunStats

__all__ = ["run_spark_engine"]


def run_spark_engine(settings: Settings, **options: Any) -> SparkRunStats:
    """Run the engine; see :func:`fraudguard.engines.spark.run.run_spark_engine`."""
    from fraudguard.engines.spark.run import run_spark_engine as run

    return run(settings, **options)
