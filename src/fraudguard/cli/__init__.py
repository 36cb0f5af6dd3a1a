"""Command-line entry point: ``fraudguard <command> --help``.

Each command lives in its own module and registers itself on :data:`app` when imported.
"""

from __future__ import annotations

import importlib
import logging
import os

from fraudguard.cli.app import app
from fraudguard.models import set_omp_passive

_COMMAND_MODULES = (
    "broker",
    "spark_cluster",
    "generate",
    "replay",
    "train",
    "evaluate",
    "stream",
    "demo",
    "api",
    "loadtest",
    "metrics",
    "bench",
    "lifecycle",
    "retrain",
    "fuzz",
    "rules",
)

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"fraudguard.cli.{_name}")
    except ModuleNotFoundError as _e:  # command not written yet in this checkout
        if _e.name != f"fraudguard.cli.{_name}":
            raise


def main() -> None:
    """Console-script entry point."""
    set_omp_passive()  # before any command imports xgboost (docs/machine-notes.md)
    debug = bool(os.environ.get("FRAUDGUARD_DEBUG"))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not debug:  # broker connection errors are reported once, as a BrokerError naming the address
        logging.getLogger("fraudguard.kafka.client").setLevel(logging.CRITICAL)
    app()


__all__ = ["app", "main"]
