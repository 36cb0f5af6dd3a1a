"""Synthetic transactions (customers, merchants, fraud scenarios) and dataset replay.

Stable entry points for other parts of FraudGuard:

- :func:`generate_frame` - a whole transaction frame (training data).
- :func:`iter_frames` - the same stream as pandas chunks (streaming, large runs).
- :func:`fraudguard.generator.datasets.read_dataset` - ULB, Sparkov or mapped tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pandas as pd

from fraudguard.generator.columns import Columns
from fraudguard.generator.datasets import concat
from fraudguard.generator.drift import Drift, parse_drift
from fraudguard.generator.generation import DEFAULT_START, GeneratorConfig, TransactionGenerator
from fraudguard.generator.scenarios import LONG_SCENARIOS, SCENARIOS, SHORT_SCENARIOS
from fraudguard.records import TRANSACTION_SCHEMA


def _chunks(
    n: int,
    fraud_rate: float,
    seed: int,
    customers: int,
    merchants: int,
    start: datetime,
    chunk_size: int,
    scenarios: str | tuple[str, ...],
    drift: tuple[Drift, ...],
) -> Iterator[Columns]:
    """The generator's column chunks for the public entry points below (one config path)."""
    config = GeneratorConfig(
        fraud_rate=fraud_rate,
        seed=seed,
        customers=customers,
        merchants=merchants,
        start=start,
        chunk_size=chunk_size,
        scenarios=scenarios,
        drift=drift,
    )
    return TransactionGenerator(config).chunks(n)


def iter_frames(
    n: int,
    fraud_rate: float = 0.01,
    seed: int = 0,
    *,
    customers: int = 10_000,
    merchants: int = 2_000,
    start: datetime = DEFAULT_START,
    chunk_size: int = 20_000,
    scenarios: str | tuple[str, ...] = SCENARIOS,
    drift: tuple[Drift, ...] = (),
) -> Iterator[pd.DataFrame]:
    """Yield ``n`` generated transactions as frames of ``chunk_size`` rows, in event-time order.

    Columns are :data:`fraudguard.schema.FRAME_COLUMNS`; the same arguments always give the
    same rows, so a training run can be reproduced from its seed. ``scenarios`` selects
    fraud scenarios (``all``, ``short``, ``long`` or names); ``drift`` ramps over the ``n`` rows.
    """
    for chunk in _chunks(n, fraud_rate, seed, customers, merchants, start, chunk_size, scenarios, drift):
        yield chunk.to_frame()


def generate_frame(
    n: int,
    fraud_rate: float = 0.01,
    seed: int = 0,
    *,
    customers: int = 10_000,
    merchants: int = 2_000,
    start: datetime = DEFAULT_START,
    scenarios: str | tuple[str, ...] = SCENARIOS,
    drift: tuple[Drift, ...] = (),
) -> pd.DataFrame:
    """``n`` generated transactions in one frame sorted by ``event_time`` (see :func:`iter_frames`)."""
    chunks = list(_chunks(n, fraud_rate, seed, customers, merchants, start, 50_000, scenarios, drift))
    if not chunks:
        return TRANSACTION_SCHEMA.empty_table().to_pandas().astype({"event_time": "datetime64[ns, UTC]"})
    return concat(chunks).to_frame()


__all__ = [
    "DEFAULT_START",
    "LONG_SCENARIOS",
    "SCENARIOS",
    "SHORT_SCENARIOS",
    "Columns",
    "Drift",
    "GeneratorConfig",
    "TransactionGenerator",
    "generate_frame",
    "iter_frames",
    "parse_drift",
]
