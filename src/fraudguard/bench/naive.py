"""The naive per-row baselines the vectorised paths are compared with.

:class:`RowScorer` is the shape of most tutorials: features for one transaction turned
into a Python dict, then one ordinary single-row call per model (``DMatrix`` + ``predict``
for XGBoost, ``predict_proba`` for the Random Forest, ``score_samples`` for the Isolation
Forest) and the stacker on the three scores. It uses the same trained models and the same
feature code as the core, one row at a time, so a ratio measures the per-row overhead
and nothing else. scikit-learn models are set to ``n_jobs=1``: a thread pool per single
row would make the baseline a straw man (~30 rows/s, see docs/machine-notes.md).

:class:`RowStateStore` keeps card / merchant state in a PostgreSQL table with one SELECT
and one upsert per key, autocommitted: the "state round trip per message" of the naive
consumer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.features import FeatureStores
from fraudguard.models.scorer import Scorer


class RowScorer:
    """Per-row features as a dict and one predict call per model per row."""

    def __init__(self, scorer: Scorer, stores: FeatureStores | None = None):
        import copy

        self.scorer = scorer
        self.names = list(scorer.feature_names)
        self.pipeline = scorer.make_pipeline(stores)
        models = scorer.models
        self.rf = copy.copy(models.random_forest)
        self.iforest = copy.copy(models.isolation_forest)
        self.rf.n_jobs = self.iforest.n_jobs = 1

    def features(self, row: pd.DataFrame) -> dict[str, float]:
        """Features of a one-row transaction frame as ``{name: value}`` (state updated)."""
        return {k: float(v) for k, v in self.pipeline.transform(row).iloc[0].items()}

    def score(self, feats: dict[str, float]) -> tuple[float, float, float, float]:
        """XGBoost, Random Forest, Isolation Forest and ensemble scores of one feature dict."""
        import xgboost as xgb

        m = self.scorer.models
        x = np.array([[feats[n] for n in self.names]], dtype=np.float32)
        s_xgb = float(m.xgboost.predict(xgb.DMatrix(x))[0])
        s_rf = float(self.rf.predict_proba(x)[0, 1])
        s_if = float(m.calibration(-self.iforest.score_samples(x))[0])
        ens = float(self.scorer.stacker(np.array([[s_xgb, s_rf, s_if]]))[0])
        return s_xgb, s_rf, s_if, ens

    def score_row(self, row: pd.DataFrame) -> tuple[float, float, float, float]:
        """Both steps for one transaction."""
        return self.score(self.features(row))


class RowStateStore:
    """A :class:`~fraudguard.features.state.StateStore` doing one PostgreSQL round trip per key."""

    def __init__(self, conn: Any, table: str) -> None:
        self.conn = conn
        self.table = table
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (k text PRIMARY KEY, v bytea NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for k in keys:
            row = self.conn.execute(f"SELECT v FROM {self.table} WHERE k = %s", (k,)).fetchone()
            out.append(None if row is None else bytes(row[0]))
        return out

    def put_many(self, items: Mapping[str, bytes], *, expire_at: float | None = None) -> None:
        for k, v in items.items():
            self.conn.execute(
                f"INSERT INTO {self.table} (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", (k, v)
            )

    def delete(self, keys: Sequence[str]) -> None:
        for k in keys:
            self.conn.execute(f"DELETE FROM {self.table} WHERE k = %s", (k,))

    def expire(self, now: float) -> int:
        return 0

    def clear(self) -> int:
        return int(self.conn.execute(f"DELETE FROM {self.table}").rowcount)

    def __len__(self) -> int:
        row = self.conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(row[0]) if row else 0

    def is_empty(self) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {self.table} LIMIT 1").fetchone() is None

    def nbytes(self) -> int:
        row = self.conn.execute(f"SELECT coalesce(sum(length(v)), 0) FROM {self.table}").fetchone()
        return int(row[0]) if row else 0
