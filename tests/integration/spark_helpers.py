"""What the Spark engine tests compare: each engine's predictions read back from its topic."""

from __future__ import annotations

import msgspec
import numpy as np

from fraudguard.schema import MODEL_NAMES, Prediction
from tests.fixtures.engine import read_topic


def predictions_by_id(bootstrap: str, topic: str) -> dict[str, Prediction]:
    """Every prediction on ``topic``, by transaction id."""
    msgs = read_topic(bootstrap, topic, idle_s=1.0)
    return {p.transaction_id: p for p in (msgspec.json.decode(m.value(), type=Prediction) for m in msgs)}


def assert_same_model_scores(local: dict[str, Prediction], spark: dict[str, Prediction], ids: set[str]) -> list[str]:
    """Both engines predicted exactly ``ids``, every model scoring alike; the ids in order."""
    assert set(spark) == set(local) == ids
    ordered = sorted(local)
    for name in MODEL_NAMES:
        a = np.array([local[i].scores[name] for i in ordered])
        b = np.array([spark[i].scores[name] for i in ordered])
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=name)
    return ordered
