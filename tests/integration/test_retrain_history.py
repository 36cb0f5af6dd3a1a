"""Retraining reads a multi-file history in bounded memory and, when everything fits, trains the same model.

The history is written as the engine writes it: one Parquet file per batch and event date,
batches in arrival order (late rows, so files overlap in time), some batches replayed under
another batch id. The reference is the previous implementation, inlined here: the whole
history read into pandas, deduplicated, filtered, split, ``train_and_register`` on the
training part and ``compute_features`` over all of it for the window.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from sklearn.metrics import average_precision_score

from fraudguard.bench.retrain import write_history
from fraudguard.config import Settings
from fraudguard.generator.columns import Columns
from fraudguard.io.retrain_io import retrain_once
from fraudguard.io.sinks.challenger import transactions_parquet_dir
from fraudguard.models.estimators import TrainConfig
from fraudguard.models.retrain import RetrainPlan, with_labels
from fraudguard.models.scorer import Scorer
from fraudguard.models.trainer import compute_features, train_and_register

pytestmark = pytest.mark.integration

SMALL = TrainConfig(xgb_trees=20, xgb_depth=4, rf_trees=10, rf_depth=6, if_trees=10, threads=2)
PLAN = RetrainPlan(since=timedelta(days=30), label_delay=timedelta(days=1), eval_fraction=0.25)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history") / "transactions"
    info = write_history(
        root, 30_000, seed=3, customers=2_000, merchants=200, fraud_rate=0.03, batch_rows=500, replay_every=9
    )
    assert info["files"] > 60 and info["replayed_rows"] > 0
    return root


@pytest.fixture
def settings(tmp_path: Path, engine_registry: Path, history: Path) -> Settings:
    state = tmp_path / "state"
    shutil.copytree(engine_registry, state / "models")
    shutil.copytree(history, transactions_parquet_dir(state))
    return Settings(state_dir=state)


def retrain_in_memory(settings: Settings, registry: Path) -> tuple[str, pd.DataFrame, np.ndarray, dict]:
    """The previous ``retrain``: the whole history in memory. Returns version, window features and labels, bounds."""
    table = ds.dataset(transactions_parquet_dir(settings.state_dir), format="parquet", partitioning="hive").to_table()
    frame = table.drop_columns(["event_date"]).to_pandas().drop_duplicates("transaction_id", keep="last")
    history = with_labels(
        Columns.from_frame(frame.reset_index(drop=True)).to_frame(),
        pd.DataFrame(columns=["transaction_id", "is_fraud"]),
    )
    t, newest = history["event_time"], history["event_time"].max()
    keep = (t >= newest - PLAN.since) & (t <= newest - PLAN.label_delay) & history["is_fraud"].notna()
    data = history[keep].sort_values("event_time", kind="stable").reset_index(drop=True).drop(columns=["label_source"])
    cut = data["event_time"].iloc[int(len(data) * (1.0 - PLAN.eval_fraction))]
    window = (data["event_time"] >= cut).to_numpy()
    config = Scorer.load(registry).feature_config
    source = {"path": "retrain", "format": "history", "sha256": None, "rows": int((~window).sum())}
    version, _card = train_and_register(
        data.loc[~window], registry, source=source, feature_config=config, cfg=SMALL, make_current=False
    )
    features = compute_features(data, config).features[window]
    bounds = {"from": cut.isoformat(), "to": data["event_time"].iloc[-1].isoformat(), "rows": len(data)}
    return version, features, data.loc[window, "is_fraud"].to_numpy(), bounds


def card(registry: Path, version: str) -> dict:
    return json.loads((registry / version / "model_card.json").read_text())


def test_everything_held_gives_the_in_memory_model(settings: Settings, tmp_path: Path) -> None:
    reference_registry = tmp_path / "reference-models"
    shutil.copytree(settings.models_dir, reference_registry)
    ref_version, window_features, y, bounds = retrain_in_memory(settings, reference_registry)

    report = retrain_once(settings, PLAN, database_url=None, cfg=SMALL, slice_rows=2_000)
    new = report["challenger"]
    assert report["sample"]["rate"] == {"fraud": 1.0, "legit": 1.0}
    assert report["sample"]["rows_held"] == bounds["rows"] == report["training_rows"] + len(y)
    assert report["sample"]["history_peak_rows"] < 10_000  # of 30,000+ rows written
    assert report["labelled"] == len(y) and report["frauds"] == int(y.sum())
    assert (report["window"]["from"], report["window"]["to"]) == (bounds["from"], bounds["to"])

    ours, theirs = card(settings.models_dir, new), card(reference_registry, ref_version)
    for key in ("metrics", "thresholds", "decision", "drift_reference", "features", "selection"):
        assert ours[key] == theirs[key], key
    assert ours["data"]["splits"] == theirs["data"]["splits"]
    assert ours["data"]["sample"]["weight"] == {"fraud": 1.0, "legit": 1.0}

    scores = Scorer.load(settings.models_dir, new).raw_scores(window_features)[1]
    reference_scores = Scorer.load(reference_registry, ref_version).raw_scores(window_features)[1]
    assert np.array_equal(scores, reference_scores)
    assert report["pr_auc"][new] == pytest.approx(average_precision_score(y, reference_scores), abs=1e-12)


def test_a_history_over_max_rows_is_sampled_frauds_first_and_weighted(settings: Settings) -> None:
    plan = RetrainPlan(since=PLAN.since, label_delay=PLAN.label_delay, eval_fraction=PLAN.eval_fraction, max_rows=6_000)
    report = retrain_once(settings, plan, database_url=None, cfg=SMALL, slice_rows=2_000)
    sample = report["sample"]
    in_scope = sample["rows_in_scope"]
    assert in_scope > 20_000 and sample["rate"]["fraud"] == 1.0 and sample["rate"]["legit"] < 0.3
    assert 5_400 <= sample["rows_held"] <= 6_600  # features for every row, 6,000 held (in expectation)
    assert report["training_rows"] < sample["rows_held"]
    # the weighted window stands for the whole window (a quarter of the in-scope rows), every fraud in it counted
    assert report["labelled"] == pytest.approx(0.25 * in_scope, rel=0.1)
    recorded = card(settings.models_dir, report["challenger"])["data"]["sample"]
    assert recorded["rate"] == sample["rate"] and recorded["weight"]["legit"] == pytest.approx(
        1 / sample["rate"]["legit"]
    )
    evaluation = json.loads((settings.models_dir / report["challenger"] / "evaluation.json").read_text())
    assert evaluation["sample"]["rows_held"] == sample["rows_held"]
