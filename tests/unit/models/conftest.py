"""Small labelled transaction frames with hand-made feature matrices for model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudguard.models.estimators import TrainConfig
from fraudguard.models.registry import save_version
from fraudguard.models.training import TrainResult, train_models

SMALL = TrainConfig(xgb_trees=30, xgb_depth=4, rf_trees=15, rf_depth=8, if_trees=20, threads=1)


def make_frame_and_features(
    n: int = 4000, seed: int = 0, fraud_rate: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A transaction frame and an aligned float32 feature frame where fraud is learnable but noisy."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < fraud_rate).astype(np.float64)
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "card_id": [f"c{i % 97}" for i in range(n)],
            "customer_id": [None] * n,
            "event_time": t0 + pd.to_timedelta(np.sort(rng.integers(0, 30 * 86400, n)), unit="s"),
            "amount": rng.gamma(2.0, 30.0, n) * (1 + 4 * y),
            "currency": "USD",
            "merchant_id": [f"m{i % 13}" for i in range(n)],
            "merchant_category": "retail",
            "channel": "pos",
            "card_present": True,
            "customer_lat": np.nan,
            "customer_lon": np.nan,
            "merchant_lat": np.nan,
            "merchant_lon": np.nan,
            "device_id": [None] * n,
            "is_fraud": y,
            "fraud_scenario": [None] * n,
        }
    )
    features = pd.DataFrame(
        {
            "amount_zscore": (rng.normal(0, 1, n) + 2.5 * y).astype(np.float32),
            "velocity_1h": rng.poisson(1 + 3 * y).astype(np.float32),
            "new_device": (rng.random(n) < 0.05 + 0.6 * y).astype(np.float32),
            "hour_sin": rng.normal(0, 1, n).astype(np.float32),
            "noise": rng.normal(0, 1, n).astype(np.float32),
        },
        index=frame.index,
    )
    return frame, features


@pytest.fixture(scope="session")
def small_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_frame_and_features()


@pytest.fixture(scope="session")
def trained(small_data: tuple[pd.DataFrame, pd.DataFrame]) -> TrainResult:
    frame, features = small_data
    return train_models(frame, features, stateful=["velocity_1h", "new_device"], cfg=SMALL)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, small_data, trained: TrainResult):
    """A registry directory holding one version of the small models."""
    from fraudguard.models.card import build_card

    root = tmp_path_factory.mktemp("models")
    _frame, features = small_data
    card = build_card(
        trained,
        features_meta={"names": list(features.columns), "stateful": ["velocity_1h", "new_device"]},
        source={"path": "memory", "sha256": None, "format": "test"},
        cfg=SMALL,
        seconds=0.0,
    )
    version = save_version(root, trained.models, trained.stacker, trained.reasons, card)
    return root, version
