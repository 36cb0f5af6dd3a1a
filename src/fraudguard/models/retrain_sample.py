"""Retraining in bounded memory: features over the whole history, only a seeded sample held.

Stateful features (card velocity, merchant windows, known-fraud shares) must see every
transaction in event-time order, so the feature pass runs over the whole in-scope history,
in the same 50,000-row blocks as :func:`~fraudguard.models.trainer.compute_features`; but a
month at 200 tx/s is half a billion rows, so only a sample of their features is kept:

- every row of a class is held with that class's rate, decided by a seeded hash of its
  ``transaction_id`` (the same history and seed hold the same rows, whatever the slicing);
- rates come from the census: when the history fits ``max_rows`` both are 1 (everything is
  held, and the model is exactly the one trained in memory); otherwise frauds keep rate 1
  unless they alone would take more than half the budget, and the legitimate rows share the
  rest;
- each held row's weight is 1 / its rate; the evaluation window's metrics are weighted with
  it, and the rates and weights go to the model card (``data.sample``). Training itself is
  the unchanged ``fraudguard train`` code, so at rates below 1 the card's own validation and
  test figures (and the thresholds chosen on validation) describe the sampled class mix.

Held memory is about ``max_rows`` x (4 bytes x feature count + ~60); the feature state is
the engine's (per card and merchant, bounded by their windows), whatever the history length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudguard.errors import DataFormatError
from fraudguard.features import FeatureConfig, FeaturePipeline, InMemoryStateStore, stateful_names
from fraudguard.models.estimators import TrainConfig
from fraudguard.models.retrain import Census, RetrainPlan, Window
from fraudguard.models.trainer import FeatureSet, train_and_register

CHUNK_ROWS = 50_000
"""Rows per feature block: :func:`~fraudguard.models.trainer.compute_features`' default, so the blocks line up."""
META_COLUMNS = ("transaction_id", "event_time", "is_fraud")
"""What the census reads of each transaction (the id for labels and duplicates)."""
HELD_COLUMNS = ("event_time", "is_fraud")
"""What is held beside each sampled row's features (all that training reads of the frame)."""


@dataclass(frozen=True)
class Sample:
    """Which in-scope rows are held (per-class rates, seeded) and where the evaluation window starts."""

    fraud_rate: float
    legit_rate: float
    seed: int
    cut_index: int
    """Position, in event-time order, of the in-scope row whose time starts the window."""

    @classmethod
    def plan(cls, census: Census, plan: RetrainPlan) -> Sample:
        """Rates that hold at most ``plan.max_rows`` rows (in expectation), frauds first."""
        if census.rows < 1000:
            raise DataFormatError(
                f"$: only {census.rows} labelled, matured transactions in the last {plan.since} (need 1000)"
            )
        frauds, legit = census.frauds, census.rows - census.frauds
        fraud_rate = min(1.0, plan.max_rows / 2 / frauds) if frauds else 1.0
        legit_rate = min(1.0, (plan.max_rows - fraud_rate * frauds) / legit) if legit else 1.0
        return cls(fraud_rate, legit_rate, plan.seed, int(census.rows * (1.0 - plan.eval_fraction)))

    def rates(self, y: np.ndarray) -> np.ndarray:
        return np.where(y >= 0.5, self.fraud_rate, self.legit_rate)

    def keep(self, transaction_ids: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Held rows: a seeded hash of the id below the row's class rate (rate 1: always)."""
        rate = self.rates(y)
        if bool((rate >= 1.0).all()):
            return np.ones(len(y), dtype=bool)
        u = pd.util.hash_array(np.asarray(transaction_ids, dtype=object), hash_key=f"{self.seed:016d}") / 2.0**64
        return (rate >= 1.0) | (u < rate)

    def describe(self, census: Census) -> dict[str, Any]:
        """The model card's ``data.sample`` entry."""
        return {
            "scheme": "per-class rate on a seeded hash of transaction_id; weight = 1 / rate",
            "seed": self.seed,
            "rate": {"fraud": self.fraud_rate, "legit": self.legit_rate},
            "weight": {"fraud": 1.0 / self.fraud_rate, "legit": 1.0 / self.legit_rate},
            "rows_in_scope": census.rows,
            "frauds_in_scope": census.frauds,
        }


class HeldHistory:
    """The second pass: in-scope rows in event-time order in, features computed, the sample held.

    Parameters
    ----------
    sample
        The rates and the window's start (:meth:`Sample.plan`).
    config, extras
        The champion's feature configuration and the history's ``x_*`` columns.
    """

    def __init__(self, sample: Sample, config: FeatureConfig, extras: Sequence[str] = ()) -> None:
        self.sample = sample
        self.config = config
        self.extras = list(extras)
        self.pipe = FeaturePipeline(config, card_store=InMemoryStateStore(), merchant_store=InMemoryStateStore())
        self.names = list(self.pipe.feature_names(self.extras))
        self.seen = 0
        self.held = 0
        self.cut: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self._carry: list[pd.DataFrame] = []
        self._carry_rows = 0
        self._features: list[np.ndarray] = []
        self._meta: list[pd.DataFrame] = []

    def add(self, in_scope: pd.DataFrame) -> None:
        """The next in-scope rows (after the previous ones in event-time order; any number)."""
        if len(in_scope):
            self._carry.append(in_scope)
            self._carry_rows += len(in_scope)
        while self._carry_rows >= CHUNK_ROWS:
            self._block(CHUNK_ROWS)

    def finish(self) -> None:
        """Feature the rows still waiting for a full block."""
        if self._carry_rows:
            self._block(self._carry_rows)

    def _block(self, n: int) -> None:
        rows = pd.concat(self._carry, ignore_index=True) if len(self._carry) > 1 else self._carry[0]
        block, rest = rows.iloc[:n].reset_index(drop=True), rows.iloc[n:]
        self._carry, self._carry_rows = ([rest] if len(rest) else []), len(rest)
        features = self.pipe.transform(block.drop(columns=["label_source"], errors="ignore"), update=True)
        start, self.seen = self.seen, self.seen + n
        times = block["event_time"]
        if self.cut is None and start <= self.sample.cut_index < self.seen:
            self.cut = times.iloc[self.sample.cut_index - start]
        self.last = times.iloc[-1]
        y = block["is_fraud"].to_numpy(dtype=np.float64)
        keep = self.sample.keep(block["transaction_id"].to_numpy(), y)
        self._features.append(features[self.names].to_numpy()[keep])
        self._meta.append(block.loc[keep, list(HELD_COLUMNS)])
        self.held += int(keep.sum())

    def split(self) -> tuple[FeatureSet, Window, dict[str, Any]]:
        """Held training rows (as a :class:`FeatureSet`), the held window, and the window's bounds."""
        self.finish()
        if self.cut is None or self.last is None:
            raise DataFormatError("$: the history ended before the evaluation window (was it rewritten meanwhile?)")
        x = np.concatenate(self._features) if self._features else np.empty((0, len(self.names)), np.float32)
        meta = pd.concat(self._meta, ignore_index=True)
        self._features, self._meta = [], []
        at = int(meta["event_time"].searchsorted(self.cut, side="left"))
        y = meta["is_fraud"].to_numpy(dtype=np.float64)
        window = Window(pd.DataFrame(x[at:], columns=self.names), y[at:], 1.0 / self.sample.rates(y[at:]))
        frauds = (window.y >= 0.5).sum()
        if frauds == 0 or frauds == len(window.y):
            raise DataFormatError("$: the evaluation window needs both fraud and legitimate labels")
        stateful = [s for s in stateful_names(self.config) if s in self.names]
        train = FeatureSet(
            meta.iloc[:at], pd.DataFrame(x[:at], columns=self.names), self.names, stateful, self.extras, self.config
        )
        bounds = {"from": self.cut.isoformat(), "to": self.last.isoformat()}
        return train, window, bounds


def train_challenger(train: FeatureSet, registry: Path, sample: dict[str, Any], cfg: TrainConfig | None = None) -> str:
    """Train on the held history before the window with the usual code; register without making it current."""
    source = {"path": "retrain", "format": "history", "sha256": None, "rows": len(train.frame), "sample": sample}
    version, _card = train_and_register(
        train.frame, registry, source=source, feature_config=train.config, cfg=cfg, make_current=False, features=train
    )
    return version
