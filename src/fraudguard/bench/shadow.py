"""Cost of shadow scoring: CPU per transaction with the champion alone and with challengers beside it.

Both runs go through the engine's real processor (features with fresh state, the
champion's ``score_frame``, then the shadow stage's challenger scoring and row building),
over the same generated transactions in the same batches. CPU time is the process's
(every thread: XGBoost and the forests score in parallel), so the ratio is extra CPU
per transaction, not wall-clock. Runs alternate and the median is reported.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd

from fraudguard.io.challenger_sinks import ShadowBuffer
from fraudguard.metrics.drift import batch_counts, references_from_card
from fraudguard.models.scorer import Scorer
from fraudguard.models.shadow import ShadowScorers


def _run(champion: Scorer, challengers: list[Scorer], frame: pd.DataFrame, batch: int, *, drift: bool = False) -> float:
    """CPU seconds to score ``frame`` (fresh feature state) with the champion and ``challengers``.

    ``drift``: also count the batch in the champion's drift-reference bins, as the engine does.
    """
    pipeline = champion.make_pipeline()
    shadow = ShadowScorers(Path("."))
    shadow.scorers = {f"c{i}": s for i, s in enumerate(challengers)}
    buffer = ShadowBuffer()
    refs, _top = references_from_card(champion.card)
    started = time.process_time()
    for start in range(0, len(frame), batch):
        chunk = frame.iloc[start : start + batch]
        features = pipeline.transform(chunk, update=True)
        predictions = champion.score_frame(chunk, features)
        if challengers:
            buffer.put(predictions, shadow.score(predictions, features))
        if drift and refs:
            cols = {c: features[c].to_numpy() for c in features.columns}
            cols["ensemble_score"] = predictions["ensemble_score"].to_numpy()
            seconds = predictions["event_time"].to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
            batch_counts(refs, cols, seconds)
    return time.process_time() - started


def shadow_overhead(
    registry: Path, frame: pd.DataFrame, *, batch: int = 2000, repeats: int = 3, challengers: int = 1
) -> dict[str, Any]:
    """Median CPU µs per transaction without and with ``challengers`` shadow models, and the ratio.

    The challenger is the champion's version loaded again: a model of the same size costs
    the same to score, whatever its weights.
    """
    champion = Scorer.load(registry)
    shadows = [Scorer.load(registry, champion.version) for _ in range(challengers)]
    _run(champion, shadows, frame.iloc[: min(len(frame), batch)], batch)  # warm-up (imports, caches)
    alone, shadowed, drifted = [], [], []
    for _ in range(repeats):
        alone.append(_run(champion, [], frame, batch))
        shadowed.append(_run(champion, shadows, frame, batch))
        drifted.append(_run(champion, [], frame, batch, drift=True))
    n = len(frame)
    a, s = statistics.median(alone) / n * 1e6, statistics.median(shadowed) / n * 1e6
    d = statistics.median(drifted) / n * 1e6
    return {
        "rows": n,
        "batch": batch,
        "challengers": challengers,
        "cpu_us_per_tx_champion": a,
        "cpu_us_per_tx_with_shadow": s,
        "extra_cpu_pct": (s / a - 1.0) * 100.0,
        "target_pct": 40.0,
        "cpu_us_per_tx_with_drift_counts": d,
        "drift_extra_cpu_pct": (d / a - 1.0) * 100.0,
    }
