"""Label-delayed merchant fraud risk, and merchant features under partition interleaving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudguard.features import FeatureConfig, FeaturePipeline, merchant_names
from tests.unit.features.helpers import frame, random_stream, tx

DAY = 86400.0
WEEK = 7 * 86400


def test_fraud_risk_covers_the_days_whose_labels_are_in() -> None:
    cfg = FeatureConfig(label_delay_s=WEEK, fraud_risk_delay_s=WEEK)
    rows = [
        tx(-10 * DAY, card="a", is_fraud=1.0),  # known at day -3
        tx(-10 * DAY + 60, card="b", is_fraud=0.0),
        tx(-3 * DAY, card="c", is_fraud=1.0),  # inside the last 7 days: not in any risk window
        tx(0, card="d", is_fraud=0.0),
    ]
    f = FeaturePipeline(cfg).transform(frame(rows)).iloc[-1]
    assert f["merchant_fraud_risk_1d"] == 0.0 and f["merchant_fraud_count_1d"] == 0  # day -8 only
    assert f["merchant_fraud_risk_7d"] == pytest.approx(0.5)  # days [-14, -7)
    assert f["merchant_fraud_count_7d"] == 1
    assert f["merchant_fraud_risk_28d"] == pytest.approx(0.5)


def test_fraud_risk_ignores_labels_not_known_yet() -> None:
    # Labels take 9 days here but the risk window ends 7 days back: a day -8 fraud is not known at day 0.
    cfg = FeatureConfig(label_delay_s=9 * DAY, fraud_risk_delay_s=WEEK)
    rows = [tx(-8 * DAY, card="a", is_fraud=1.0), tx(0, card="d", is_fraud=0.0)]
    f = FeaturePipeline(cfg).transform(frame(rows)).iloc[-1]
    assert f["merchant_fraud_count_1d"] == 0 and f["merchant_fraud_risk_1d"] == 0.0


def _partitioned(n: int = 600) -> pd.DataFrame:
    """Two partitions (disjoint cards, shared merchants), each in event-time order."""
    s = random_stream(n, seed=5, late_share=0.0, merchants=4)
    s = s.sort_values("event_time", kind="stable").reset_index(drop=True)
    return s.assign(partition=s["card_id"].str[1:].astype(int) % 2)


def _arrival(s: pd.DataFrame, lag_s: dict[int, float]) -> pd.DataFrame:
    """The stream as an engine reading partition p ``lag_s[p]`` seconds behind the other."""
    key = s["event_time"] + pd.to_timedelta(s["partition"].map(lag_s), unit="s")
    return s.iloc[np.argsort(key.to_numpy(), kind="stable")]


def _merchant_feats(cfg: FeatureConfig, s: pd.DataFrame, batch: int) -> pd.DataFrame:
    pipe = FeaturePipeline(cfg)
    parts = [pipe.transform(s.iloc[i : i + batch]) for i in range(0, len(s), batch)]
    return pd.concat(parts)[merchant_names(cfg)].sort_index()


@pytest.mark.parametrize("batch", [1, 37, 600])
def test_lagged_merchant_features_do_not_depend_on_partition_interleaving(batch: int) -> None:
    cfg = FeatureConfig(merchant_lag_s=3600, label_delay_s=2 * 3600, allowed_lateness_s=3600)
    s = _partitioned()
    one_partition = _merchant_feats(cfg, s, len(s))
    for lags in ({0: 0.0, 1: 1799.0}, {0: 1799.0, 1: 0.0}):
        got = _merchant_feats(cfg, _arrival(s, lags), batch)
        pd.testing.assert_frame_equal(got, one_partition)
    assert one_partition["merchant_count_1h"].sum() > 0


def test_without_a_lag_the_interleaving_shows() -> None:
    """The same skew changes unlagged features: the test above could fail."""
    cfg = FeatureConfig(label_delay_s=2 * 3600, allowed_lateness_s=3600)
    s = _partitioned()
    a = _merchant_feats(cfg, s, len(s))
    b = _merchant_feats(cfg, _arrival(s, {0: 0.0, 1: 1799.0}), 37)
    assert not a.equals(b)
