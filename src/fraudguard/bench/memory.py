"""Benchmark ``memory``: the engine's state cost with many distinct cards in process.

Generated transactions are given fresh card ids (``card-0000001`` ...), so every row
brings a new card into the in-process :class:`~fraudguard.features.InMemoryStateStore`,
and are fed through the feature pipeline in 10,000-row batches as the local engine feeds
them. Rounds over the generated rows reuse their event times with new cards, so no card
reaches its TTL (advancing time would expire the first cards before the last arrive). Reported: the state payload per card (the encoded bytes the store holds, what
Redis would hold too), the process RSS growth per card (payload plus Python's per-object
and dict costs), and the peak RSS. Read-only use of :mod:`fraudguard.features`.
"""

from __future__ import annotations

import gc
import resource
from datetime import UTC, datetime
from typing import Any

import numpy as np


def _rss_bytes() -> int:
    """Current resident set size (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize()


def run_memory(scorer: Any, cards: int = 1_000_000, batch: int = 10_000, base_rows: int = 50_000) -> dict[str, Any]:
    """State bytes per card and RSS growth per card after ``cards`` distinct cards."""
    from fraudguard.generator import generate_frame

    base = generate_frame(min(base_rows, cards), fraud_rate=0.01, seed=11, start=datetime(2026, 6, 1, tzinfo=UTC))
    pipe = scorer.make_pipeline()
    step = pipe.transform(base.iloc[:batch].assign(card_id=[f"warm-{i}" for i in range(min(batch, len(base)))]))
    del step
    gc.collect()
    rss0 = _rss_bytes()
    done = 0
    while done < cards:  # the same event times every round: time stays within the card TTL
        for start in range(0, len(base), batch):
            n = min(batch, len(base) - start, cards - done)
            if n <= 0:
                break
            part = base.iloc[start : start + n].copy()
            part["card_id"] = np.char.add("card-", np.arange(done, done + n).astype(str)).astype(object)
            pipe.transform(part)
            done += n
    gc.collect()
    rss1 = _rss_bytes()
    stats = pipe.stats()
    new_cards = stats["cards"] - min(batch, len(base))
    return {
        "cards": int(stats["cards"]),
        "state_bytes_per_card": stats["bytes_per_card"],
        "rss_growth_bytes_per_card": (rss1 - rss0) / new_cards if new_cards else None,
        "rss_mib": rss1 / 2**20,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "merchants": int(stats["merchants"]),
        "note": "in-process InMemoryStateStore, one transaction per card; RSS growth includes Python object overhead",
    }
