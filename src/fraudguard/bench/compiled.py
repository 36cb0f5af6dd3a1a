"""Benchmark ``models``: the three base models + ensemble, library vs compiled graph, per batch size.

The same feature rows (a fresh generated stream through a warmed pipeline) are scored by
one scorer loaded twice: ``compiled=False`` (XGBoost ``inplace_predict`` and the leaf
tables of :mod:`fraudguard.models.leaves`) and the default (the ONNX graph of
:mod:`fraudguard.models.compiled`). Both run in this process one after the other, so a
busy machine slows both; the ratio is the comparable number. The largest score
difference between the two is reported too (a unit test holds it under 1e-5).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from fraudguard.models.scorer import Scorer


def feature_matrix(scorer: Scorer, rows: int, warm_rows: int) -> np.ndarray:
    """Model input for ``rows`` transactions after ``warm_rows`` of card history."""
    from fraudguard.bench.core import scoring_stream, warm_pipeline

    stream = scoring_stream(warm_rows + rows)
    pipe = warm_pipeline(scorer, stream.iloc[:warm_rows])
    return scorer.matrix(pipe.transform(stream.iloc[warm_rows:]))


def _rate(scorer: Scorer, x: np.ndarray, batch: int, seconds: float) -> float:
    """Rows/s of ``raw_scores``-equivalent work (base models + stacker) at ``batch``."""
    models, stacker = scorer.models, scorer.stacker
    stacker(models.scores(x[:batch]))  # warm
    done, start, t0 = 0, 0, time.perf_counter()
    while True:
        part = x[start : start + batch]
        stacker(models.scores(part))
        done += len(part)
        start = (start + batch) % max(1, len(x) - batch + 1)
        if time.perf_counter() - t0 >= seconds:
            return done / (time.perf_counter() - t0)


def run_models(registry: Path, *, rows: int = 10_000, warm_rows: int = 2_000, seconds: float = 2.0) -> dict[str, Any]:
    """Rows/s at batch 1, 100 and 10,000 for the library and the compiled path, and their ratio."""
    compiled = Scorer.load(registry)
    library = Scorer.load(registry, compiled=False)
    x = feature_matrix(library, rows, warm_rows)
    diff = np.abs(compiled.models.scores(x) - library.models.scores(x)).max(axis=0)
    batches = []
    for batch in (1, 100, 10_000):
        b = min(batch, len(x))
        lib = _rate(library, x, b, seconds)
        comp = _rate(compiled, x, b, seconds) if compiled.compiled else None
        batches.append(
            {"batch": b, "library_rows_s": lib, "compiled_rows_s": comp, "speedup": comp / lib if comp else None}
        )
    return {
        "compiled_available": compiled.compiled,
        "batches": batches,
        "max_abs_diff": dict(zip(("xgboost", "random_forest", "isolation_forest"), diff.tolist(), strict=True)),
        "note": "base models + stacker on a float32 matrix (no features, no frames); same process, one after the other",
    }
