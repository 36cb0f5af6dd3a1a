"""A model to score with: trained on generated transactions when the registry has none.

The tests train a small model once per session, ``fraudguard bench`` trains the one its
benchmarks score with, and ``fraudguard demo`` trains one on first start (with a progress
bar). All three generate transactions with a fixed seed and register a version exactly as
``fraudguard train`` does (features in event-time order, three models, stacker,
thresholds, model card).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fraudguard.errors import ModelError


def has_model(registry: Path) -> bool:
    """Whether ``CURRENT`` names a version in ``registry``."""
    from fraudguard.models.registry import current_version

    try:
        current_version(registry)
    except (ModelError, OSError):
        return False
    return True


def train_generated(
    registry: Path,
    *,
    rows: int,
    fraud_rate: float,
    seed: int,
    cfg: Any | None = None,
    note: str = "generated",
    step: Callable[[str], None] | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> str:
    """Generate ``rows`` transactions, train on them, register the version as ``CURRENT``; its name.

    ``cfg`` is a :class:`~fraudguard.models.estimators.TrainConfig` (``None``: the defaults);
    ``note`` is the data source written into the model card; ``step`` and ``on_chunk``
    report progress as in :func:`~fraudguard.models.trainer.train_and_register`.
    """
    from fraudguard.generator import generate_frame
    from fraudguard.models.trainer import train_and_register

    frame = generate_frame(rows, fraud_rate=fraud_rate, seed=seed)
    version, _card = train_and_register(
        frame,
        registry,
        source={"path": note, "format": "frame", "sha256": None},
        cfg=cfg,
        step=step,
        on_chunk=on_chunk,
    )
    return version
