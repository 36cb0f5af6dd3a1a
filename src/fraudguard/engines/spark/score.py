"""Scoring inside Spark: stateless features, then the shared :class:`Scorer`, in ``mapInPandas``.

The card and merchant columns arrive from the stateful operators; the stateless ones are
computed here with the same core function the batch pipeline uses, and the scorer picks
its columns in model order. The model version is fixed when the query starts (the
driver resolves ``CURRENT``), and each Python worker loads it once (module-level cache),
not once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudguard import schema
from fraudguard.engines.spark.parse import SOURCE_DDL, null_frame, spark_ddl
from fraudguard.engines.spark.shadow import SHADOW_COLUMNS, SHADOW_DDL, shadow_columns, worker_shadow
from fraudguard.engines.spark.times import utc
from fraudguard.features import prepare, stateless_features
from fraudguard.heap import freeze_spark_worker
from fraudguard.models.scorer import Scorer
from fraudguard.models.shadow import ShadowScorers
from fraudguard.records import PREDICTION_FRAME_SCHEMA

PREDICTION_DDL = spark_ddl(PREDICTION_FRAME_SCHEMA)
"""A prediction frame (:data:`~fraudguard.records.PREDICTION_FRAME_SCHEMA`) as Spark columns."""

SCORED_DDL = f"{PREDICTION_DDL}, {SHADOW_DDL}, {SOURCE_DDL}"
SOURCE_COLUMNS: tuple[str, ...] = tuple(part.split()[0] for part in SOURCE_DDL.split(", "))

_SCORERS: dict[tuple[str, str], Scorer] = {}


def cached_scorer(models_dir: str, version: str) -> Scorer:
    """The scorer of ``version``, loaded (and verified) once per Python process."""
    key = (models_dir, version)
    scorer = _SCORERS.get(key)
    if scorer is None:
        scorer = Scorer.load(Path(models_dir), version)
        _SCORERS.clear()  # one version at a time per worker: a new one replaces the old
        _SCORERS[key] = scorer
    return scorer


def _extras_frame(extras: pd.Series, names: list[str]) -> pd.DataFrame:
    """``x_<name>`` columns from the ``extras`` map column (dicts or key/value pairs)."""
    rows = [dict(e) if e is not None and not isinstance(e, float) else {} for e in extras.tolist()]
    raw = pd.DataFrame.from_records(rows, index=extras.index)
    prefix = schema.EXTRA_PREFIX
    out = {n: (raw[n[len(prefix) :]] if n[len(prefix) :] in raw.columns else np.nan) for n in names}
    return pd.DataFrame(out, index=extras.index, dtype=np.float64)


def score_rows(scorer: Scorer, rows: pd.DataFrame, shadow: ShadowScorers | None = None) -> pd.DataFrame:
    """Prediction rows for valid transactions, null predictions for rejected ones.

    The source columns (``src_*``, ``error_*``, ``raw_*``) are kept so the writer can
    dead-letter the rejected rows of the same micro-batch. ``shadow``'s challengers score
    the same features into the :data:`~.shadow.SHADOW_COLUMNS` (recorded, never deciding).
    """
    valid = rows["error_field"].isna().to_numpy()
    v = rows[valid]
    parts: list[pd.DataFrame] = []
    if len(v):
        frame = v[list(schema.FRAME_COLUMNS)].copy()
        frame["event_time"] = utc(frame["event_time"])
        frame["produced_at"] = utc(v["produced_at"])
        extras = [n for n in scorer.feature_names if n.startswith(schema.EXTRA_PREFIX)]
        feats: dict[str, Any] = stateless_features(prepare(frame))
        if extras:
            feats.update(_extras_frame(v["extras"], extras).to_dict("series"))
        features = pd.DataFrame(
            {n: (feats[n] if n in feats else v[n].to_numpy()) for n in scorer.feature_names}, index=v.index
        )
        predictions = scorer.score_frame(frame, features)
        challengers = pd.DataFrame(shadow_columns(shadow, features), index=v.index)
        parts.append(pd.concat([predictions, challengers, v[list(SOURCE_COLUMNS)]], axis=1))
    if not valid.all():
        rejected = rows.loc[~valid, list(SOURCE_COLUMNS)]
        nulls = null_frame(f"{PREDICTION_DDL}, {SHADOW_DDL}", len(rejected))
        parts.append(pd.concat([nulls.set_axis(rejected.index), rejected], axis=1))
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    return out[[*schema.PREDICTION_COLUMNS, *SHADOW_COLUMNS, *SOURCE_COLUMNS]]


def score_step(models_dir: str, version: str) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function scoring with registry ``version`` under ``models_dir``."""

    def step(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        scorer = cached_scorer(models_dir, version)
        shadow = worker_shadow(models_dir, scorer)
        freeze_spark_worker()
        for rows in batches:
            if len(rows):
                yield score_rows(scorer, rows, shadow)

    return step
