"""The ``fraudguard`` Typer application that every command module registers on.

Command modules import heavy libraries (xgboost, pyspark, uvicorn) inside their
functions so that ``fraudguard --help`` stays fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fraudguard",
    help="Real-time credit-card fraud detection: broker, generator, training, streaming engines, API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """FraudGuard: real-time credit-card fraud detection on Kafka (and Spark)."""
