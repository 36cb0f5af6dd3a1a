"""The API generator's drift: validated like the CLI's ``--drift``, canonical in the status, felt in the stream."""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
import pytest

from fraudguard.api.generator_control import GeneratorController, GeneratorSettings, canonical_drift, default_source
from fraudguard.errors import ConfigError


def test_drift_texts_become_canonical() -> None:
    assert canonical_drift(["amount", "category:0.3", "fraud_mix:3"]) == ("amount:2", "category:0.3", "fraud-mix:3")
    assert canonical_drift([]) == ()


@pytest.mark.parametrize(
    "drift",
    [["speed"], ["amount:x"], ["amount:-1"], ["amount:nan"], ["category:2"], ["amount", "amount:3"], [""]],
)
def test_bad_drift_is_refused_and_changes_nothing(drift: list[str]) -> None:
    gen = GeneratorController(producer=None, topic="t")
    before = gen.status()
    with pytest.raises(ConfigError):
        gen.configure(drift=drift, tps=10)
    assert gen.status() == before


@pytest.mark.parametrize("days", [0.0, -1.0, float("nan"), float("inf"), 366.0])
def test_bad_drift_days_are_refused(days: float) -> None:
    with pytest.raises(ConfigError, match="drift_days"):
        GeneratorController(producer=None, topic="t").configure(drift_days=days)


def test_status_reports_the_drift_and_an_empty_list_returns_to_steady() -> None:
    gen = GeneratorController(producer=None, topic="t")
    status = gen.configure(drift=["amount:6", "fraud-mix"], drift_days=0.5)
    assert status["drift"] == ["amount:6", "fraud-mix:2"] and status["drift_days"] == 0.5
    assert gen.configure(tps=50)["drift"] == ["amount:6", "fraud-mix:2"]  # omitted: kept
    assert gen.configure(drift=[])["drift"] == []
    assert not gen.running


def _amounts(settings: GeneratorSettings, n: int) -> np.ndarray:
    messages = itertools.chain.from_iterable(default_source(settings, seed=5))
    return np.array([msgspec.json.decode(m)["amount"] for m in itertools.islice(messages, n)])


def test_the_source_ramps_amounts_over_drift_days() -> None:
    # 400 tx/s at 60 simulated s per s: 0.01 simulated days of activity is ~5,800 transactions
    steady = _amounts(GeneratorSettings(tps=400.0), 8_000)
    drifted = _amounts(GeneratorSettings(tps=400.0, drift=("amount:6",), drift_days=0.01), 8_000)
    head, tail = slice(0, 500), slice(-1_500, None)
    assert np.median(drifted[head]) < 1.5 * np.median(steady[head])
    assert np.median(drifted[tail]) > 4 * np.median(steady[tail])
